"""Accept/reject cases for the streaming checkers, beyond the golden histories."""

from __future__ import annotations

from harness.checkers import (
    UNKNOWN,
    check,
    check_budget,
    check_delivery,
    check_idempotency,
    check_lost_update,
    check_ordering,
    check_session,
    run_checkers,
)
from harness.checkers.delivery import DeliveryChecker
from harness.checkers.ordering import OrderingChecker
from tests.checkers._history import History


def kinds(verdict) -> list[str]:
    return [a.kind for a in verdict.violations]


# -- delivery -------------------------------------------------------------------
def test_delivery_matches_by_sqs_id_when_no_logical_id() -> None:
    h = History()
    h.send("s", "q", None, "sqs-1")
    h.receive("w", "q", (None, "sqs-1"))
    h.delete("w", "q", "sqs-1")
    assert check_delivery(h).valid is True


def test_delivery_unknown_send_need_not_arrive_but_may() -> None:
    h = History()
    h.send("s", "q", "m1", "x1", type="info")
    h.send("s", "q", "m2", "x2", type="info")
    h.receive("w", "q", ("m2", "x2"))
    h.delete("w", "q", "x2")
    v = check_delivery(h)
    assert v.valid is True and not v.anomalies


def test_delivery_failed_send_then_receive_is_unexpected() -> None:
    h = History()
    h.send("s", "q", "m1", "x1", type="fail")
    h.receive("w", "q", ("m1", "x1"))
    assert kinds(check_delivery(h)) == ["unexpected"]


def test_delivery_received_but_not_deleted_is_lost_unless_not_required() -> None:
    h = History()
    h.send("s", "q", "m1", "x1")
    h.receive("w", "q", ("m1", "x1"))
    assert kinds(check_delivery(h)) == ["lost"]
    assert check_delivery(h, require_delete=False).valid is True


def test_delivery_duplicates_are_warnings_unless_forbidden() -> None:
    h = History()
    h.send("s", "q", "m1", "x1")
    h.receive("w", "q", ("m1", "x1"))
    h.receive("w", "q", ("m1", "x1"))
    h.delete("w", "q", "x1")
    v = check_delivery(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["duplicated"]
    assert v.stats["duplicated"] == 1
    assert kinds(check_delivery(h, allow_duplicates=False)) == ["duplicated"]


def test_delivery_batches() -> None:
    h = History()
    entries = [{"message_id": "a", "sqs_id": "1"}, {"message_id": "b", "sqs_id": "2"}]
    h.call("s", "sqs.SendMessageBatch", "q", {"entries": entries})
    h.receive("w", "q", ("a", "1"), ("b", "2"))
    h.call("w", "sqs.DeleteMessageBatch", "q", {"entries": [{"sqs_id": "1"}, {"sqs_id": "2"}]})
    assert check_delivery(h).valid is True


def test_delivery_field_names_are_configurable() -> None:
    h = History()
    h.call("s", "queue.put", "q", {"message_id": "m1"}, {"message_id": "m1", "sqs_id": "1"})
    h.call("w", "queue.get", "q", None, {"messages": [{"message_id": "m1", "sqs_id": "1"}]})
    v = check_delivery(h, send=["queue.put"], receive=["queue.get"], require_delete=False)
    assert v.valid is True and v.stats["receives"] == 1


# -- idempotency -------------------------------------------------------------------
def test_idempotency_unknown_attempt_after_success_is_unknown() -> None:
    h = History()
    h.call("w1", "effect.charge", "order-1", {"amount": 5})
    h.call("w2", "effect.charge", "order-1", {"amount": 5}, type="info")
    v = check_idempotency(h)
    assert v.valid == UNKNOWN and [a.kind for a in v.warnings] == ["possible_duplicate"]


def test_idempotency_expected_operations_must_happen() -> None:
    h = History()
    h.call("w1", "effect.charge", "order-1")
    h.call("w1", "effect.charge", "order-2", type="fail")
    v = check_idempotency(h, expected=["order-1", "order-2"])
    assert kinds(v) == ["missing_effect"]
    assert check_idempotency(h, expected=["order-1"]).valid is True


def test_idempotency_counts_kinds_separately() -> None:
    h = History()
    h.call("w1", "effect.fetch", "t1")
    h.call("w1", "effect.publish", "t1")
    assert check_idempotency(h).valid is True
    assert kinds(check_idempotency(h, per_kind=False)) == ["duplicate_effect"]


# -- ordering -------------------------------------------------------------------
def test_fifo_concurrent_sends_may_arrive_in_either_order() -> None:
    h = History()
    h.add("p1", "invoke", "sqs.SendMessage", "q.fifo", {"message_id": "a", "group": "g"})
    h.add("p2", "invoke", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g"})
    h.add("p1", "ok", "sqs.SendMessage", "q.fifo", {"message_id": "a", "group": "g", "sqs_id": "1"})
    h.add("p2", "ok", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g", "sqs_id": "2"})
    h.receive("w", "q.fifo", ("b", "2"), ("a", "1"))
    assert check_ordering(h).valid is True


def test_fifo_groups_are_independent_and_reorder_reported_once() -> None:
    h = History()
    for i in range(4):
        h.send("s", "q.fifo", f"m{i}", str(i), group="g1")
    h.send("s", "q.fifo", "other", "9", group="g2")
    h.receive("w", "q.fifo", ("other", "9"), ("m0", "0"), ("m2", "2"), ("m3", "3"), ("m1", "1"))
    v = check_ordering(h)
    assert kinds(v) == ["reordered"]
    assert v.anomalies[0].details["skipped"] == "m1"


def test_task_transition_from_wrong_state() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h.call("w", "state.transition", "t", {"from": "running", "to": "done"})
    assert kinds(check_ordering(h)) == ["wrong_from_state"]


def test_task_transition_of_unknown_outcome_allows_both_states() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"}, type="info")
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h.call("w", "state.transition", "t", {"from": "dispatched", "to": "running"})
    h.call("w", "state.transition", "t", {"from": "running", "to": "done"})
    h.call("w", "state.transition", "t", {"from": "done", "to": "running"}, type="fail")  # refused: fine
    assert check_ordering(h).valid is True


def test_task_state_machine_is_configurable() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "new", "to": "old"})
    assert kinds(check_ordering(h)) == ["illegal_transition"]
    assert check_ordering(h, allowed=[("new", "old")], initial_state="new").valid is True


# -- lost update ------------------------------------------------------------------
def _put(h: History, p: str, version: int, expect: int | None, type: str = "ok") -> None:
    cond = None if expect is None else "version = :expected_version"
    h.call(
        p,
        "dynamodb.PutItem",
        "t/1",
        {"condition": cond, "expect_version": expect, "version": version},
        {"version": version},
        type=type,
    )


def test_version_gap_unless_explained_by_unknown_write() -> None:
    h = History()
    _put(h, "a", 1, 0)
    _put(h, "a", 3, 2)
    assert kinds(check_lost_update(h)) == ["version_gap"]
    h2 = History()
    _put(h2, "a", 1, 0)
    _put(h2, "b", 2, 1, type="info")
    _put(h2, "a", 3, 2)
    assert check_lost_update(h2).valid is True


def test_stale_condition_and_stale_overwrite() -> None:
    h = History()
    _put(h, "a", 1, 0)
    _put(h, "a", 2, 1)
    _put(h, "b", 3, 1)  # expected version 1 after version 2 was acknowledged
    assert "stale_condition" in kinds(check_lost_update(h))
    h = History()
    _put(h, "a", 5, 4)
    _put(h, "b", 3, None)  # a blind write of a version older than one acknowledged
    assert "stale_overwrite" in kinds(check_lost_update(h))


def test_lost_update_reads_version_from_the_completion() -> None:
    h = History()
    h.call(
        "a",
        "dynamodb.UpdateItem",
        "t/1",
        {"update": "SET n = n + 1", "condition": "version = :v", "expect_version": 0},
        {"version": 1},
    )
    h.call("b", "dynamodb.UpdateItem", "t/1", {"update": "SET n = n + 1", "condition": None}, {"version": 1})
    assert kinds(check_lost_update(h)) == ["version_repeat"]


# -- session ------------------------------------------------------------------
def test_session_groups_threads_of_an_agent() -> None:
    h = History()
    h.call("writer/1", "dynamodb.PutItem", "t/1", {"version": 1}, {"version": 1}, agent="writer")
    h.call(
        "writer/2",
        "dynamodb.GetItem",
        "t/1",
        {"consistent": True},
        {"item": None, "version": None, "consistent": True},
        agent="writer",
    )
    assert kinds(check_session(h)) == ["stale_read"]


def test_session_consistent_only() -> None:
    h = History()
    h.call("w", "dynamodb.PutItem", "t/1", {"version": 2}, {"version": 2})
    h.call(
        "w",
        "dynamodb.GetItem",
        "t/1",
        {"consistent": False},
        {"item": {"v": 1}, "version": 1, "consistent": False},
    )
    assert kinds(check_session(h)) == ["stale_read"]
    assert check_session(h, consistent_only=True).valid is True


def test_session_concurrent_write_is_not_required_to_be_visible() -> None:
    h = History()
    h.add("w/1", "invoke", "dynamodb.GetItem", "t/1", {"consistent": True}, agent="w")
    h.add("w/2", "invoke", "dynamodb.PutItem", "t/1", {"version": 1}, agent="w")
    h.add("w/2", "ok", "dynamodb.PutItem", "t/1", {"version": 1}, agent="w")
    h.add("w/1", "ok", "dynamodb.GetItem", "t/1", {"item": None, "version": None}, agent="w")
    assert check_session(h).valid is True


# -- budget ------------------------------------------------------------------
def _model(h: History, p: str, sub: str, tokens: int | None, type: str = "ok", **extra: object) -> None:
    h.call(
        p,
        "model.complete",
        sub,
        {"task_id": "T", "budget": 100, **extra},
        {"input_tokens": tokens, "output_tokens": 0} if tokens is not None else None,
        type=type,
    )


def test_budget_unknown_spend() -> None:
    h = History()
    h.call("s", "budget.allocate", "T", {"budget": 300})
    _model(h, "w", "T/a", 50)
    _model(h, "w", "T/b", None, type="info")
    assert check_budget(h).valid == UNKNOWN
    assert check_budget(h, assume_unknown_tokens=0).valid is True
    h2 = History()
    h2.call("s", "budget.allocate", "T", {"budget": 300})
    _model(h2, "w", "T/a", 50)
    _model(h2, "w", "T/b", None, type="info", max_tokens=40)
    assert check_budget(h2).valid is True


def test_budget_subtask_level_and_missing_budget() -> None:
    h = History()
    h.call("s", "budget.allocate", "T", {"budget": 1000})
    _model(h, "w", "T/a", 80)
    _model(h, "w", "T/a", 80)  # 160 > the subtask's 100
    v = check_budget(h)
    assert kinds(v) == ["over_budget"] and v.violations[0].details["level"] == "subtask"
    h2 = History()
    _model(h2, "w", "T/a", 10)
    v2 = check_budget(h2, check_subtasks=False)
    assert v2.valid is True and [a.kind for a in v2.warnings] == ["no_budget"]


# -- the single pass --------------------------------------------------------------
def test_one_pass_feeds_every_checker_and_keeps_order() -> None:
    h = History()
    h.send("s", "q.fifo", "a", "1", group="g")
    h.send("s", "q.fifo", "b", "2", group="g")
    h.receive("w", "q.fifo", ("b", "2"))
    v1, v2 = run_checkers(iter(h), [OrderingChecker(), DeliveryChecker()])
    assert v1.checker == "ordering" and kinds(v1) == ["reordered"]
    assert v2.checker == "delivery" and kinds(v2) == ["lost", "lost"]
    assert [v.checker for v in check(h, ["delivery", "ordering"])] == ["delivery", "ordering"]


def test_checkers_never_crash_on_odd_values() -> None:
    h = History()
    for f in (
        "sqs.SendMessage",
        "sqs.ReceiveMessage",
        "sqs.DeleteMessage",
        "dynamodb.PutItem",
        "dynamodb.GetItem",
        "state.transition",
        "model.complete",
        "budget.allocate",
        "effect.x",
    ):
        for value in (None, 3, "x", [1, 2], {"messages": 5}, {"messages": [None, 1]}, {"version": "v"}):
            h.call("p", f, [1], value)
            h.add("q", "ok", f, None, value)  # a completion with no invocation
    verdicts = check(h)
    assert len(verdicts) == 6
