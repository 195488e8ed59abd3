"""Liveness bugs the simulator found in the reference supervisor, each as its
minimal case. They fail today (strict xfail): when one is fixed its test
passes, pytest reports XPASS as a failure, and the fix should widen the
supervisor faults in ``harness.suite`` (they are left out because of these).

Both are one shape: a supervisor step that changes several things is
interrupted half-way (a throttled call, a crash), and nothing ever finishes
it. A third one, a subtask send throttled after its task was marked
dispatched, is fixed by the supervisor's periodic sweep of open tasks: see
``test_a_throttled_dispatch_is_finished_by_the_sweep``.
"""

from __future__ import annotations

import pytest

from harness.faults.plan import Fault, FaultPlan, Target, Trigger
from harness.sim.case import Case
from harness.sim.checks import failures

WORKLOAD = [{"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}]


def _plan(kind: str, service: str, operation: str, nth: int, **params: object) -> FaultPlan:
    target = Target(agent="supervisor", service=service, operation=operation)
    return FaultPlan(faults=[Fault(kind=kind, target=target, trigger=Trigger(nth=nth), params=params)])


CASES = {
    # submit() stores the task, then its status publish is throttled: the
    # client's retry finds the task stored and never queues it for dispatch.
    "status publish throttled on submit": Case.of(0, WORKLOAD, _plan("throttle", "sns", "Publish", 1)),
    # a crash after publishing that a subtask failed, before failing its
    # task: recovery finds the task running and its subtask failed, and waits.
    "crash between failing a subtask and its task": Case.of(
        0,
        [{"request_id": "r0", "topic": "heat pumps", "token_budget": 300}],
        _plan("crash", "sns", "Publish", 7, when="after", restart_after=5.0),
    ),
}


@pytest.mark.xfail(strict=True, reason="reference supervisor: a half-done step is never finished")
@pytest.mark.parametrize("name", list(CASES))
def test_a_request_survives_an_interrupted_supervisor_step(name: str) -> None:
    result, verdicts = CASES[name].run()
    assert not failures(verdicts), f"{name}: {result.task_states}"


def test_a_throttled_dispatch_is_finished_by_the_sweep() -> None:
    """The second research subtask's send is throttled after the task was
    marked dispatched; the supervisor's sweep of open tasks sends it later."""
    case = Case.of(0, WORKLOAD, _plan("throttle", "sqs", "SendMessage", 2))
    result, verdicts = case.run()
    assert not failures(verdicts)
    assert result.task_states == {"r0": "done"} and result.virtual_seconds > 30  # after a sweep
