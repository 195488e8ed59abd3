"""Liveness bugs the simulator found in the reference supervisor, each kept
as its minimal case, now as regression tests.

All are one shape: a supervisor step that changes several things is
interrupted half-way (a throttled call, a crash), and nothing finished it.
The fixes: the supervisor tracks a submitted task before publishing its
status, and a repeated submit takes on a stored task it does not know;
recovery fails a task whose subtask was failed by an interrupted step; and
its periodic sweep of open tasks sends a subtask whose send was throttled
after its task was marked dispatched.
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
    # client's retry found the task stored and never queued it for dispatch.
    "status publish throttled on submit": Case.of(0, WORKLOAD, _plan("throttle", "sns", "Publish", 1)),
    # submit() stores the task and the acknowledgement is lost: the client's
    # retry found the task stored and did not take it on (found with the
    # supervisor's faults widened to every call kind).
    "task stored, its acknowledgement lost": Case.of(0, WORKLOAD, _plan("lose_ack", "dynamodb", "*", 2)),
    # a crash after publishing that a subtask failed, before failing its
    # task: recovery found the task running and its subtask failed, and waited.
    "crash between failing a subtask and its task": Case.of(
        0,
        [{"request_id": "r0", "topic": "heat pumps", "token_budget": 300}],
        _plan("crash", "sns", "Publish", 7, when="after", restart_after=5.0),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_request_survives_an_interrupted_supervisor_step(name: str) -> None:
    result, verdicts = CASES[name].run()
    assert not failures(verdicts), f"{name}: {result.task_states}"
    assert result.task_states["r0"] in ("done", "failed")


def test_a_throttled_dispatch_is_finished_by_the_sweep() -> None:
    """The second research subtask's send is throttled after the task was
    marked dispatched; the supervisor's sweep of open tasks sends it later."""
    case = Case.of(0, WORKLOAD, _plan("throttle", "sqs", "SendMessage", 2))
    result, verdicts = case.run()
    assert not failures(verdicts)
    assert result.task_states == {"r0": "done"} and result.virtual_seconds > 30  # after a sweep
