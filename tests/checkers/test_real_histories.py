"""Checkers on slices of histories recorded from the reference system (see
``fixtures/histories/README.md``): each slice is a correct run that a checker
once rejected, and each is changed in one place to show that the checker still
rejects the real bug it is there for."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import (
    UNKNOWN,
    check,
    check_budget,
    check_delivery,
    check_idempotency,
    check_ordering,
)
from harness.history.jsonl import read_history
from harness.history.model import Op

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"


def load(name: str) -> list[Op]:
    return read_history(FIXTURES / name)


def kinds(verdict: Any) -> list[str]:
    return [a.kind for a in verdict.violations]


def warnings(verdict: Any) -> list[str]:
    return [a.kind for a in verdict.warnings]


def append(ops: list[Op], process: str, type: str, f: str, key: Any = None, value: Any = None) -> None:
    last = ops[-1]
    ops.append(Op(len(ops), last.time + 1_000_000, process, type, f, key, value, meta={"agent": process}))


@pytest.mark.parametrize(
    "name",
    [
        "delivery-sns-fanout-ok.jsonl",
        "delivery-unconsumed-at-end-ok.jsonl",
        "delivery-unacknowledged-ok.jsonl",
        "ordering-fifo-resend-ok.jsonl",
        "ordering-fifo-redelivery-ok.jsonl",
        "ordering-fifo-early-receive-ok.jsonl",
        "idempotency-unknown-attempt-ok.jsonl",
        "idempotency-crash-unrecorded-ok.jsonl",
        "budget-share-spent-ok.jsonl",
    ],
)
def test_every_checker_accepts_the_recorded_slice(name: str) -> None:
    for v in check(load(name)):
        assert v.valid is True, (v.checker, [a.message for a in v.violations])


# -- delivery: SNS fan-out ------------------------------------------------------------
def test_fanout_to_the_audit_queue_counts_as_sent() -> None:
    v = check_delivery(load("delivery-sns-fanout-ok.jsonl"))
    assert v.valid is True and not v.anomalies
    assert v.stats["fanned_out"] == 1 and v.stats["publishes"] == 2


def test_fanout_without_its_publish_is_unexpected() -> None:
    ops = [op for op in load("delivery-sns-fanout-ok.jsonl") if op.f != "sns.Publish"]
    assert kinds(check_delivery(ops)) == ["unexpected"]


def test_fanout_with_subscriptions_judges_each_queue() -> None:
    ops = load("delivery-sns-fanout-ok.jsonl")
    # the slice has the auditor receive only the first of two status events, after both were published
    v = check_delivery(ops, subscriptions={"mas-status": ["mas-audit"]})
    assert kinds(v) == ["lost"] and v.violations[0].key == "status:r1-0000:dispatched"
    # a queue the topic does not feed may not receive its messages
    v = check_delivery(ops, subscriptions={"mas-status": ["mas-other"]})
    assert sorted(kinds(v)) == ["lost", "lost", "unexpected"]
    # topics absent from the mapping keep the default: any queue may receive them
    assert check_delivery(ops, subscriptions={"other-topic": ["mas-audit"]}).valid is True


# -- delivery: the end of a run ---------------------------------------------------------
def test_messages_sent_after_the_last_receive_are_unconsumed_not_lost() -> None:
    v = check_delivery(load("delivery-unconsumed-at-end-ok.jsonl"))
    assert v.valid is True and warnings(v) == ["unconsumed", "unconsumed"]


def test_a_message_the_consumer_polled_past_is_lost() -> None:
    ops = load("delivery-unconsumed-at-end-ok.jsonl")
    append(ops, "supervisor", "invoke", "sqs.ReceiveMessage", "mas-progress.fifo")
    append(ops, "supervisor", "ok", "sqs.ReceiveMessage", "mas-progress.fifo", {"messages": []})
    v = check_delivery(ops)
    assert kinds(v) == ["lost", "lost"] and v.stats["lost"] == 2


def test_a_message_received_but_never_deleted_is_a_warning_unless_deletes_are_required() -> None:
    ops = load("delivery-unacknowledged-ok.jsonl")
    v = check_delivery(ops)
    assert v.valid is True and warnings(v) == ["duplicated", "unacknowledged"]
    assert kinds(check_delivery(ops, require_delete=True)) == ["unacknowledged"]


# -- ordering: FIFO ------------------------------------------------------------------
def test_fifo_resend_with_the_same_deduplication_id_is_the_same_message() -> None:
    v = check_ordering(load("ordering-fifo-resend-ok.jsonl"))
    assert v.valid is True and v.stats["fifo_messages"] == 4
    d = check_delivery(load("ordering-fifo-resend-ok.jsonl"))
    assert d.valid is True and d.stats["deduplicated_sends"] == 2


def _swap_received(ops: list[Op], a: str, b: str) -> None:
    for op in ops:
        if op.f == "sqs.ReceiveMessage" and op.type == "ok":
            msgs = op.value["messages"]
            ids = [m["message_id"] for m in msgs]
            if a in ids and b in ids:
                i, j = ids.index(a), ids.index(b)
                msgs[i], msgs[j] = msgs[j], msgs[i]
                return
    raise AssertionError("no receive with both messages")


def test_fifo_real_reordering_is_still_caught() -> None:
    ops = copy.deepcopy(load("ordering-fifo-resend-ok.jsonl"))
    _swap_received(ops, "progress:r3-0001/review/0:started:2", "progress:r3-0001/review/0:finished:2")
    v = check_ordering(ops)
    assert kinds(v) == ["reordered"]
    assert v.violations[0].details == {
        "received": "progress:r3-0001/review/0:finished:2",
        "skipped": "progress:r3-0001/review/0:started:2",
    }


def test_fifo_resend_after_the_deduplication_window_is_a_new_message() -> None:
    ops = load("ordering-fifo-resend-ok.jsonl")
    # with a one-second window the resends (seconds later) are new messages
    assert check_ordering(ops, dedup_window=1.0).stats["fifo_messages"] == 6
    assert check_delivery(ops, dedup_window=1.0).stats["deduplicated_sends"] == 0


def test_fifo_redelivery_of_an_earlier_message_is_allowed() -> None:
    ops = load("ordering-fifo-redelivery-ok.jsonl")
    assert any(op.f == "fault.duplicate_delivery" for op in ops)
    v = check_ordering(ops)
    assert v.valid is True and v.stats["fifo_messages"] == 2
    assert warnings(check_delivery(ops)) == ["duplicated"]


def test_fifo_first_delivery_out_of_order_in_the_redelivery_slice_is_caught() -> None:
    ops = copy.deepcopy(load("ordering-fifo-redelivery-ok.jsonl"))
    _swap_received(ops, "progress:r3-0001/research/1:started:1", "progress:r3-0001/research/1:finished:1")
    assert kinds(check_ordering(ops)) == ["reordered"]


def test_fifo_message_received_before_its_send_was_acknowledged() -> None:
    # processes: the supervisor received the event before the worker saw SQS acknowledge it
    ops = load("ordering-fifo-early-receive-ok.jsonl")
    receive, ack = ops[2], ops[5]
    assert receive.f == "sqs.ReceiveMessage" and ack.f == "sqs.SendMessage" and ack.type == "ok"
    v = check_ordering(ops)
    assert v.valid is True and v.stats["fifo_messages"] == 2


def test_fifo_message_skipped_in_the_early_receive_slice_is_caught() -> None:
    ops = copy.deepcopy(load("ordering-fifo-early-receive-ok.jsonl"))
    ops[2].value["messages"] = []  # finished:1 was never received, yet started:1 (sent after it) was
    v = check_ordering(ops)
    assert kinds(v) == ["reordered"]
    assert v.violations[0].details["skipped"] == "progress:r1-0002/research/0:finished:1"


# -- idempotency ----------------------------------------------------------------------
def test_attempt_of_unknown_outcome_after_the_effect_is_a_warning() -> None:
    ops = load("idempotency-unknown-attempt-ok.jsonl")
    v = check_idempotency(ops)
    assert v.valid is True and warnings(v) == ["possible_duplicate"]
    assert check_idempotency(ops, strict=True).valid == UNKNOWN


def test_a_real_double_effect_is_caught() -> None:
    ops = copy.deepcopy(load("idempotency-unknown-attempt-ok.jsonl"))
    last = ops[-1]
    assert last.f == "effect.publish" and last.error == "AlreadyDone"
    last.type, last.error = "ok", None  # the provider let the repeated key through
    v = check_idempotency(ops)
    assert kinds(v) == ["duplicate_effect"] and v.violations[0].ops == (3, 12)


def test_effect_refused_as_already_done_shows_it_happened() -> None:
    ops = load("idempotency-crash-unrecorded-ok.jsonl")
    v = check_idempotency(ops, expected=["r1-0000/research/1"])
    assert v.valid is True and v.stats["unrecorded"] == 1
    # without the refusal nothing shows the effect happened
    ops = [op for op in ops if op.f != "effect.fetch"]
    assert kinds(check_idempotency(ops, expected=["r1-0000/research/1"])) == ["missing_effect"]


# -- budget ---------------------------------------------------------------------------
def test_a_subtask_may_spend_exactly_its_share_and_fail() -> None:
    v = check_budget(load("budget-share-spent-ok.jsonl"))
    assert v.valid is True
    assert v.stats["tokens"] == 40 + 29 + 29 + 120


def test_a_model_that_ignores_its_limit_is_over_budget() -> None:
    ops = copy.deepcopy(load("budget-share-spent-ok.jsonl"))
    call = next(
        op for op in ops if op.f == "model.complete" and op.type == "ok" and op.key == "r1-0004/write/0"
    )
    call.value["output_tokens"] += 1  # 121 of the write share of 120
    v = check_budget(ops)
    assert kinds(v) == ["over_budget"] and v.violations[0].details["level"] == "subtask"


def test_a_task_whose_subtasks_overspend_together_is_over_budget() -> None:
    ops = copy.deepcopy(load("budget-share-spent-ok.jsonl"))
    for op in ops:
        if op.f == "budget.allocate":
            op.value["budget"] = 200  # less than the 218 its subtasks spent within their shares
    v = check_budget(ops)
    assert kinds(v) == ["over_budget"] and v.violations[0].details == {
        "level": "task",
        "spent": 218,
        "budget": 200,
    }
