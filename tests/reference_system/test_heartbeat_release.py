"""A worker that extended its message's visibility (a heartbeat before slow
work) and then failed hands the message back at once, so its retries come
as fast as a worker's without a heartbeat; before, each failed attempt held
the subtask for the whole heartbeat and a request under a permanent model
fault outlived the run (fixtures/cases/heartbeat-writer-permanent-model-fault.json)."""

from __future__ import annotations

from harness.sim.case import Case
from harness.sim.checks import failures

WL = [{"request_id": "r0", "token_budget": 4000, "topic": "tides"}]
HEARTBEAT = {"impls": {"write": "tests.mutants.worker_mutants:HeartbeatWriter"}}


def _count(ops: list, f: str, agent: str = "write") -> int:  # type: ignore[type-arg]
    return sum(
        1 for op in ops if op.f == f and op.type in ("invoke", "info") and str(op.process).startswith(agent)
    )


def test_a_failed_attempt_hands_the_message_back() -> None:
    fault = {
        "kind": "model",
        "target": {"agent": "write-1", "operation": "write"},
        "params": {"mode": "malformed"},
    }
    case = Case.from_json({"seed": 1, "workload": WL, "plan": {"faults": [fault]}, "options": HEARTBEAT})
    result, verdicts = case.run()
    assert not failures(verdicts)
    assert result.task_states == {"r0": "failed"} and result.stopped == "finished"
    assert result.virtual_seconds < 60  # not one heartbeat per attempt
    errors = _count(result.ops, "worker.error")
    assert errors >= 2  # every attempt failed: heartbeat, then handed back
    assert _count(result.ops, "sqs.ChangeMessageVisibility") == 2 * errors


def test_a_successful_attempt_is_not_handed_back() -> None:
    result, verdicts = Case.from_json({"seed": 1, "workload": WL, "options": HEARTBEAT}).run()
    assert not failures(verdicts) and result.task_states == {"r0": "done"}
    assert _count(result.ops, "sqs.ChangeMessageVisibility") == 1  # the heartbeat alone
