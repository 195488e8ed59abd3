"""The run properties on small histories that must pass and ones that must fail."""

from __future__ import annotations

from typing import Any

from harness.checkers.conventions import REFERENCE_CHECKER_SPECS
from harness.history.model import Op
from harness.sim.checks import check_crashes, check_liveness, check_retries, check_stages

TERMINAL = REFERENCE_CHECKER_SPECS["liveness"]["terminal"]


class H:
    """Builds a history: ``h.op(process, type, f, key, value)``."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def op(self, process: str, type: str, f: str, key: Any = None, value: Any = None) -> H:
        self.ops.append(Op(len(self.ops), len(self.ops), process, type, f, key, value))
        return self

    def pair(self, process: str, f: str, key: Any = None, value: Any = None, type: str = "ok") -> H:
        return self.op(process, "invoke", f, key, value).op(process, type, f, key, value)


def _create(h: H, pk: str) -> H:
    return h.pair("supervisor", "dynamodb.PutItem", f"sim-tasks/{pk}")


def _done(h: H, pk: str, frm: str = "running") -> H:
    return h.pair("supervisor", "state.transition", pk, {"from": frm, "to": "done"})


def test_stages_in_order_pass() -> None:
    h = H()
    _create(h, "t/research/0")
    _create(h, "t/research/1")
    _done(h, "t/research/0")
    _done(h, "t/research/1")
    _create(h, "t/write/0")
    _done(h, "t/write/0")
    _create(h, "t/review/0")
    _done(h, "t/review/0")
    _done(h, "t", "running")
    v = check_stages(h.ops, spec=REFERENCE_CHECKER_SPECS["stages"])
    assert v.valid is True and v.stats["subtasks"] == 4


def test_a_stage_started_early_fails_with_both_witnesses() -> None:
    h = H()
    _create(h, "t/research/0")
    _create(h, "t/research/1")
    _done(h, "t/research/1")
    _create(h, "t/write/0")  # research/0 is not done
    _done(h, "t/research/0")
    v = check_stages(h.ops, spec=REFERENCE_CHECKER_SPECS["stages"])
    assert v.valid is False
    (a,) = v.anomalies
    assert a.kind == "stage_before_previous_done" and a.details["pending"] == "t/research/0"
    assert a.ops == (1, 7)  # its creation, the next stage's creation
    assert "before t/research/0 (created at op 1) was done" in a.message


def test_a_write_of_unknown_outcome_may_have_finished_the_stage() -> None:
    h = H()
    _create(h, "t/research/0")
    h.pair("supervisor", "dynamodb.UpdateItem", "sim-tasks/t/research/0", type="info")
    _create(h, "t/write/0")
    assert check_stages(h.ops, spec=REFERENCE_CHECKER_SPECS["stages"]).valid is True


def test_a_task_done_before_its_review_fails() -> None:
    h = H()
    _create(h, "t/review/0")
    _done(h, "t", "running")
    assert check_stages(h.ops, spec=REFERENCE_CHECKER_SPECS["stages"]).valid is False


def test_liveness() -> None:
    h = H()
    h.pair("supervisor", "state.transition", "a", {"from": "pending", "to": "dispatched"})
    ok = check_liveness(h.ops, ["a", "b"], {"a": "done", "b": "failed"}, terminal=TERMINAL)
    bad = check_liveness(h.ops, ["a", "b"], {"a": "dispatched"}, note="run ended: quiet", terminal=TERMINAL)
    assert ok.valid is True
    by_key = {a.key: a for a in bad.anomalies}
    assert bad.valid is False and set(by_key) == {"a", "b"}
    assert by_key["a"].ops == (1,) and "quiet" in by_key["a"].message
    assert "not even stored" in by_key["b"].message


def _deliver(h: H, mid: str, sqs_id: str, queue: str = "sim-research") -> H:
    return h.pair(
        "research-1", "sqs.ReceiveMessage", queue, {"messages": [{"message_id": mid, "sqs_id": sqs_id}]}
    )


def test_deliveries_explained_by_sends_redrive_and_duplicates_pass() -> None:
    h = H()
    h.pair("supervisor", "sqs.SendMessage", "sim-research", {"message_id": "subtask:s"})
    for _ in range(3):
        _deliver(h, "subtask:s", "q1")
    h.op("nemesis", "info", "fault.duplicate_delivery", "research-1:sqs.ReceiveMessage", {"sqs_id": "q1"})
    _deliver(h, "subtask:s", "q1")
    _deliver(h, "subtask:s", "q1", "sim-research-dlq")  # the supervisor reading its dead letters
    assert check_retries(h.ops, spec=REFERENCE_CHECKER_SPECS["retries"]).valid is True


def test_a_message_requeued_by_a_worker_is_retried_without_end() -> None:
    h = H()
    h.pair("supervisor", "sqs.SendMessage", "sim-research", {"message_id": "subtask:s"})
    for i in range(5):
        _deliver(h, "subtask:s", f"q{i}")
        h.pair(
            "research-1", "sqs.SendMessage", "sim-research", {"message_id": "subtask:s"}
        )  # not a send that counts
    v = check_retries(h.ops, spec=REFERENCE_CHECKER_SPECS["retries"])
    assert v.valid is False
    assert v.anomalies[0].details == {"deliveries": 5, "bound": 3}


def test_an_unhandled_exception_is_a_violation() -> None:
    h = H().op("write-1", "info", "agent.crash", "write-1", {"error": "KeyError: 'title'"})
    v = check_crashes(h.ops)
    assert v.valid is False and "KeyError: 'title'" in v.anomalies[0].message
    assert check_crashes(H().ops).valid is True
