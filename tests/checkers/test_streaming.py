"""Accept/reject cases for the streaming checkers, beyond the golden histories."""

from __future__ import annotations

from harness.checkers import (
    STREAMING,
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
from harness.checkers.conventions import REFERENCE_STATE_MACHINE
from harness.checkers.delivery import DeliveryChecker
from harness.checkers.ordering import OrderingChecker
from tests.checkers._history import History


def kinds(verdict) -> list[str]:
    return [a.kind for a in verdict.violations]


def check_states(h, **spec):
    """The ordering checker judging task states by the reference system's state machine."""
    return check_ordering(h, state_machine=REFERENCE_STATE_MACHINE, **spec)


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


def test_delivery_received_but_not_deleted_is_unacknowledged_a_violation_only_if_required() -> None:
    h = History()
    h.send("s", "q", "m1", "x1")
    h.receive("w", "q", ("m1", "x1"))
    v = check_delivery(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["unacknowledged"]
    assert kinds(check_delivery(h, require_delete=True)) == ["unacknowledged"]


def test_delivery_never_received_is_lost_once_the_queue_was_polled_after_the_send() -> None:
    h = History()
    h.send("s", "q", "m1", "x1")
    assert kinds(check_delivery(h)) == ["lost"]  # nobody ever received from q
    h.receive("w", "q")
    h.send("s", "q", "m2", "x2")
    v = check_delivery(h)
    assert kinds(v) == ["lost"] and v.violations[0].key == "m1"
    assert [a.kind for a in v.warnings] == ["unconsumed"] and v.warnings[0].key == "m2"


def test_delivery_receive_before_the_send_is_acknowledged() -> None:
    # another process's receive can be recorded before the sender sees its acknowledgement
    h = History()
    h.add("s", "invoke", "sqs.SendMessage", "q", {"message_id": "m1"})
    h.receive("w", "q", ("m1", "x1"))
    h.delete("w", "q", "x1")
    h.add("s", "ok", "sqs.SendMessage", "q", {"message_id": "m1", "sqs_id": "x1"})
    v = check_delivery(h)
    assert v.valid is True and not v.anomalies


def test_delivery_dead_letter_redrive_counts_as_sent() -> None:
    h = History()
    h.send("s", "q", "m1", "x1")
    h.receive("w", "q", ("m1", "x1"))  # the worker fails: not deleted
    h.receive("w", "q", ("m1", "x1"))
    h.receive("s", "q-dlq", ("m1", "x1"))  # SQS moved it to the dead-letter queue
    h.delete("s", "q-dlq", "x1")
    v = check_delivery(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["duplicated"]


def test_delivery_sns_fanout_to_several_queues() -> None:
    h = History()
    h.call("s", "sns.Publish", "topic", {"message_id": "e1"}, {"message_id": "e1", "sns_id": "n1"})
    h.receive("a", "audit", ("e1", "a1"))
    h.delete("a", "audit", "a1")
    h.receive("b", "billing", ("e1", "b1"))
    h.delete("b", "billing", "b1")
    v = check_delivery(h)
    assert v.valid is True and not v.anomalies and v.stats["fanned_out"] == 2
    h2 = History()
    h2.call("s", "sns.Publish", "topic", {"message_id": "e1"}, {"message_id": "e1"}, type="fail")
    h2.receive("a", "audit", ("e1", "a1"))
    assert kinds(check_delivery(h2)) == ["unexpected"]


def test_delivery_fifo_resend_with_another_logical_id_is_deduplicated() -> None:
    h = History()
    v1 = {"message_id": "m1", "group": "g", "dedup": "d"}
    v2 = {"message_id": "m2", "group": "g", "dedup": "d"}  # a retry that drew a new logical id
    h.call("s", "sqs.SendMessage", "q.fifo", v1, {**v1, "sqs_id": "x1"})
    h.call("s", "sqs.SendMessage", "q.fifo", v2, {**v2, "sqs_id": "x2"})
    h.receive("w", "q.fifo", ("m1", "x1"))
    h.delete("w", "q.fifo", "x1")
    v = check_delivery(h)
    assert v.valid is True and v.stats["deduplicated_sends"] == 1
    # on a standard queue the same two sends are two messages
    h2 = History(op for op in h)
    for op in h2:
        if op.key == "q.fifo":
            op.key = "q"
    assert kinds(check_delivery(h2)) == ["lost"]


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
def test_idempotency_unknown_attempt_after_success_is_a_warning_or_unknown_if_strict() -> None:
    h = History()
    h.call("w1", "effect.charge", "order-1", {"amount": 5})
    h.call("w2", "effect.charge", "order-1", {"amount": 5}, type="info")
    v = check_idempotency(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["possible_duplicate"]
    assert check_idempotency(h, strict=True).valid == UNKNOWN


def test_idempotency_attempt_never_completed_is_of_unknown_outcome() -> None:
    h = History()
    h.call("w1", "effect.charge", "order-1")
    h.call("w2", "effect.charge", "order-1", type="none")  # its process crashed
    v = check_idempotency(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["possible_duplicate"]
    assert v.anomalies[0].ops == (1, 2)
    h2 = History()
    h2.call("w2", "effect.charge", "order-1", type="none")
    assert check_idempotency(h2, expected=["order-1"]).valid is True
    assert check_idempotency(h2, expected=["order-1"], strict=True).valid == UNKNOWN


def test_idempotency_refusals_are_not_effects() -> None:
    h = History()
    h.call("w1", "effect.charge", "order-1")
    for p in ("w2", "w3"):
        h.add(p, "invoke", "effect.charge", "order-1")
        h.add(p, "fail", "effect.charge", "order-1", error="AlreadyDone")
    assert check_idempotency(h).valid is True
    h.add("w4", "invoke", "effect.charge", "order-2")
    h.add("w4", "fail", "effect.charge", "order-2", error="Timeout")  # certainly did not happen
    assert kinds(check_idempotency(h, expected=["order-1", "order-2"])) == ["missing_effect"]


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


def test_fifo_receive_before_the_send_is_acknowledged() -> None:
    h = History()
    h.send("s", "q.fifo", "a", "1", group="g")
    h.add("s", "invoke", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g"})
    h.receive("w", "q.fifo", ("a", "1"), ("b", "2"))
    h.add("s", "ok", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g", "sqs_id": "2"})
    h.send("s", "q.fifo", "c", "3", group="g")
    h.receive("w", "q.fifo", ("c", "3"))
    v = check_ordering(h)
    assert v.valid is True and v.stats["fifo_messages"] == 3
    h2 = History()
    h2.send("s", "q.fifo", "a", "1", group="g")
    h2.add("s", "invoke", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g"})
    h2.receive("w", "q.fifo", ("b", "2"))  # b overtook a, acknowledged before b was sent
    h2.add("s", "ok", "sqs.SendMessage", "q.fifo", {"message_id": "b", "group": "g", "sqs_id": "2"})
    assert kinds(check_ordering(h2)) == ["reordered"]


def test_fifo_retry_of_a_send_of_unknown_outcome_keeps_its_first_place() -> None:
    # the first attempt may have enqueued m1 before m2 was sent; the retry is deduplicated
    h = History()
    h.send("s", "q.fifo", "m1", "1", group="g", type="info")
    h.send("t", "q.fifo", "m2", "2", group="g")
    h.send("s", "q.fifo", "m1", "1", group="g")
    h.receive("w", "q.fifo", ("m1", "1"), ("m2", "2"))
    assert check_ordering(h).valid is True


def test_task_transition_from_wrong_state() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h.call("w", "state.transition", "t", {"from": "dispatched", "to": "running"})
    h.call("w", "state.transition", "t", {"from": "dispatched", "to": "running"})  # a second writer
    assert kinds(check_states(h)) == ["wrong_from_state"]
    h2 = History()
    h2.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h2.call("s", "state.transition", "t", {"from": "dispatched", "to": "running"})
    h2.call("a", "state.transition", "t", {"from": "running", "to": "done"})
    h2.call("b", "state.transition", "t", {"from": "running", "to": "failed"})  # both left running
    assert kinds(check_states(h2)) == ["wrong_from_state"]


def test_task_transition_skipped_ahead_is_an_unrecorded_step() -> None:
    # the write of dispatched -> running succeeded but its record was lost (a crash in between)
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h.call("s", "state.transition", "t", {"from": "running", "to": "done"})
    v = check_states(h)
    assert v.valid is True and [a.kind for a in v.warnings] == ["unrecorded_transition"]
    assert v.warnings[0].ops == (3,) and v.warnings[0].details == {"from": ["dispatched"], "to": "running"}
    # recorded late (a writer slower to record than the next one): the step is filled in
    h.call("w", "state.transition", "t", {"from": "dispatched", "to": "running"})
    v = check_states(h)
    assert v.valid is True and not v.anomalies
    # recorded again: a second writer made the same move
    h.call("x", "state.transition", "t", {"from": "dispatched", "to": "running"})
    assert kinds(check_states(h)) == ["wrong_from_state"]


def test_task_transition_back_from_a_terminal_state() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "failed"})
    h.call("s", "state.transition", "t", {"from": "dispatched", "to": "running"})  # left a terminal state
    assert kinds(check_states(h)) == ["wrong_from_state"]


def test_task_transition_of_unknown_outcome_allows_both_states() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"}, type="info")
    h.call("s", "state.transition", "t", {"from": "pending", "to": "dispatched"})
    h.call("w", "state.transition", "t", {"from": "dispatched", "to": "running"})
    h.call("w", "state.transition", "t", {"from": "running", "to": "done"})
    h.call("w", "state.transition", "t", {"from": "done", "to": "running"}, type="fail")  # refused: fine
    assert check_states(h).valid is True


def test_task_state_machine_is_configurable() -> None:
    h = History()
    h.call("s", "state.transition", "t", {"from": "new", "to": "old"})
    assert kinds(check_states(h)) == ["illegal_transition"]
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


def test_version_gap_explained_by_a_write_never_completed() -> None:
    h = History()
    _put(h, "a", 1, 0)
    _put(h, "b", 2, 1, type="none")  # b crashed: its write may have been applied
    _put(h, "a", 3, 2)
    assert check_lost_update(h).valid is True
    h2 = History()
    _put(h2, "a", 1, 0)
    h2.add("b", "invoke", "dynamodb.PutItem", "t/1", {"condition": "c", "expect_version": 1, "version": 2})
    _put(h2, "b", 3, 2)  # the restarted process reuses its name: the first write was superseded
    assert check_lost_update(h2).valid is True


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
    v = check_budget(h)
    assert v.valid is True
    assert sorted((a.kind, a.details["level"]) for a in v.warnings) == [
        ("maybe_over_budget", "subtask"),
        ("maybe_over_budget", "task"),
    ]
    assert check_budget(h, strict=True).valid == UNKNOWN
    assert check_budget(h, strict=True, assume_unknown_tokens=0).valid is True
    h2 = History()
    h2.call("s", "budget.allocate", "T", {"budget": 300})
    _model(h2, "w", "T/a", 50)
    _model(h2, "w", "T/b", None, type="info", max_tokens=40)
    v2 = check_budget(h2, strict=True)
    assert v2.valid is True and not v2.anomalies


def test_budget_call_never_completed_may_have_spent_its_max_tokens() -> None:
    h = History()
    h.call("s", "budget.allocate", "T", {"budget": 300})
    _model(h, "w", "T/a", 90)
    _model(h, "w", "T/a", None, type="none", max_tokens=60)  # the worker crashed during the call
    v = check_budget(h)
    assert v.valid is True
    assert [(a.kind, a.details["level"]) for a in v.warnings] == [("maybe_over_budget", "subtask")]
    assert check_budget(h, strict=True).valid == UNKNOWN


def test_budget_attempts_of_a_redelivered_subtask_share_its_budget() -> None:
    h = History()
    h.call("s", "budget.allocate", "T", {"budget": 1000})
    _model(h, "w1", "T/a", 60)
    _model(h, "w2", "T/a", 40)  # a second attempt: together exactly the share
    assert check_budget(h).valid is True
    _model(h, "w2", "T/a", 1)
    assert kinds(check_budget(h)) == ["over_budget"]


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
    assert v2.checker == "delivery" and kinds(v2) == ["lost"]
    assert [a.kind for a in v2.warnings] == ["unacknowledged"]
    assert [v.checker for v in check(h, ["delivery", "ordering"])] == ["delivery", "ordering"]


def test_an_invocation_never_completed_reaches_the_handlers_as_info() -> None:
    seen: list[tuple[str, int, str | None]] = []

    class Spy:
        name = "spy"

        def handler(self, f: str):
            return lambda op, inv: seen.append((op.type, op.index, inv and inv.type))

        def finish(self):
            return check([], ["delivery"])[0]

    h = History()
    h.add("p", "invoke", "x")  # superseded by the next invocation of p
    h.add("p", "invoke", "x")
    h.add("p", "ok", "x")
    h.add("q", "invoke", "y")
    h.add("q", "ok", "z")  # the completion of another operation
    h.add("r", "invoke", "x")  # the history ends first
    run_checkers(h, [Spy()])
    assert seen == [
        ("invoke", 0, None),
        ("info", 0, "invoke"),
        ("invoke", 1, None),
        ("ok", 2, "invoke"),
        ("invoke", 3, None),
        ("info", 3, "invoke"),
        ("ok", 4, None),
        ("invoke", 5, None),
        ("info", 5, "invoke"),
    ]


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
    assert len(verdicts) == len(STREAMING)
