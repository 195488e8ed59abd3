"""The step-level simulator: driving it by hand, interleaving, faults made by hand."""

from __future__ import annotations

import io

from harness.history.jsonl import write_history
from harness.history.model import INVOKE
from harness.sim import SimConfig, Simulation, simulate
from reference_system.worker_loop import WorkerLoop

ONE = [{"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}]


def _cfg(**kw: object) -> SimConfig:
    from reference_system.messages import BriefRequest

    base = {"seed": 2, "workload": [BriefRequest.model_validate(r) for r in ONE], "auditor": False}
    return SimConfig(**{**base, **kw})  # type: ignore[arg-type]


def _bytes(ops: list) -> bytes:
    buf = io.BytesIO()
    write_history(ops, buf)
    return buf.getvalue()


def _drive(sim: Simulation) -> None:
    sim.submit()
    sim.deliver("supervisor")
    sim.duplicate("research")  # nothing delivered there yet
    sim.deliver("research-1")
    sim.duplicate("research")
    sim.crash("research-1", after_calls=2, restart_after=1.0)
    sim.deliver("research-1")
    sim.advance(6.0)
    sim.run()


def test_driving_by_hand_is_deterministic() -> None:
    histories = []
    for _ in range(2):
        with Simulation(_cfg()) as sim:
            _drive(sim)
            histories.append(_bytes(sim.ops))
            assert sim.result().task_states == {"r0": "done"}
    assert histories[0] == histories[1]


def test_a_duplicate_is_delivered_again_and_absorbed() -> None:
    with Simulation(_cfg()) as sim:
        sim.submit()
        sim.deliver("supervisor")
        sim.deliver("research-1")
        assert sim.duplicate("research")
        sim.run()
        ops = sim.ops
        received = [
            m["message_id"]
            for op in ops
            if op.f == "sqs.ReceiveMessage" and op.type == "ok" and op.process == "research-1"
            for m in op.value["messages"]
        ]
        first = received[0]
        assert received.count(first) == 2
        assert any(op.f == "fault.duplicate_delivery" for op in ops)
        assert sim.result().ok


def test_a_worker_crashed_mid_step_leaves_its_call_open_and_comes_back() -> None:
    with Simulation(_cfg()) as sim:
        sim.submit()
        sim.deliver("supervisor")
        sim.crash("research-1", after_calls=3, restart_after=2.0)
        assert sim.deliver("research-1") is None  # it died in this step
        assert not sim.slot("research-1").alive
        crash = next(op for op in sim.ops if op.f == "fault.crash")
        assert crash.process == "nemesis" and crash.value["agent"] == "research-1"
        # the call that applied before the crash was never completed
        last_invoke = max(
            i for i, op in enumerate(sim.ops) if op.process == "research-1" and op.type == INVOKE
        )
        assert all(op.process != "research-1" for op in sim.ops[last_invoke + 1 :])
        sim.run()
        assert sim.slot("research-1").alive
        assert sim.result().task_states == {"r0": "done"}


def test_agents_interleave_call_by_call() -> None:
    r = simulate(_cfg(workers=2, schedule=[1, 0] * 60))
    open_by: dict[str, int] = {}
    overlapped = False
    for op in r.ops:
        if not op.f.startswith(("sqs.", "dynamodb.", "sns.")):
            continue
        if op.type == INVOKE:
            overlapped = overlapped or any(p != op.process for p in open_by)
            open_by[op.process] = op.index
        else:
            open_by.pop(op.process, None)
    assert overlapped, "no call of one agent ever started while another's was open"
    assert r.ok


def test_a_stuck_run_ends_as_soon_as_nothing_can_happen() -> None:
    from harness.faults.plan import Fault, FaultPlan, Target, Trigger

    plan = FaultPlan(
        faults=[
            Fault(
                kind="model",
                target=Target(agent="research-1", service="model", operation="research"),
                trigger=Trigger(nth=1),
                params={"mode": "timeout"},
            )
        ]
    )
    cfg = _cfg(plan=plan, options={"worker_loop_class": "tests.mutants.mutants:AckFirstLoop"})
    r = simulate(cfg)
    assert r.stopped == "quiet"
    assert r.task_states == {"r0": "running"}
    # quiet within seconds, then one supervisor sweep (every 30 s) that moves nothing
    assert 30 < r.virtual_seconds < 40


def test_an_agents_unhandled_exception_is_recorded_and_it_restarts() -> None:
    cfg = _cfg(
        max_virtual_seconds=12.0, options={"worker_loop_class": "tests.sim.test_simulation:BrokenLoop"}
    )
    r = simulate(cfg)
    crashes = [op for op in r.ops if op.f == "agent.crash"]
    assert crashes and crashes[0].value["error"] == "Boom: the loop itself broke"
    assert len({op.process for op in crashes}) == 3  # every worker, each restarted and broken again
    assert r.stopped == "time limit"


class Boom(Exception):
    pass


class BrokenLoop(WorkerLoop):
    """A worker loop that breaks outside the worker's handle (which the loop guards)."""

    def step(self) -> bool:
        raise Boom("the loop itself broke")


def test_a_request_waits_for_a_supervisor_that_could_not_start() -> None:
    """The supervisor's recovery scan at start-up loses its acknowledgement
    twice: it is down twice, and the request is submitted once it is up,
    not dropped."""
    from harness.faults.plan import Fault, FaultPlan, Target, Trigger
    from harness.sim.case import Case
    from harness.sim.checks import failures

    fault = Fault(
        kind="lose_ack",
        target=Target(agent="supervisor", service="dynamodb"),
        trigger=Trigger(probability=1.0, max_count=2),
    )
    result, verdicts = Case.of(0, ONE, FaultPlan(seed=0, faults=[fault])).run()
    assert not failures(verdicts)
    assert result.task_states == {"r0": "done"}
