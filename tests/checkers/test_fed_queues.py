"""Queues a bus or topic feeds outside the history (an EventBridge rule's
target): what arrives there needs no recorded send; elsewhere it still does."""

from __future__ import annotations

from harness.checkers import check_delivery
from harness.system import Declarations
from tests.checkers._history import History


def _arrival(queue: str) -> History:
    h = History()
    h.receive("w", queue, (None, "sqs-9"))
    h.delete("w", queue, "sqs-9")
    return h


def test_an_arrival_on_a_fed_queue_is_fanned_out_not_unexpected() -> None:
    v = check_delivery(_arrival("mas-pricing"), fed_queues=["*-pricing"])
    assert v.valid is True and v.stats["fanned_out"] == 1 and v.stats["unexpected"] == 0


def test_an_arrival_never_sent_on_another_queue_is_still_unexpected() -> None:
    v = check_delivery(_arrival("mas-orders"), fed_queues=["*-pricing"])
    assert v.valid is False and [a.kind for a in v.anomalies] == ["unexpected"]


def test_declared_fanout_becomes_fed_queue_globs() -> None:
    specs = Declarations(fanout={"bus": ("pricing", "stock-*")}).checker_specs()
    assert specs["delivery"] == {"fed_queues": ["*pricing", "stock-*"]}
    v = check_delivery(_arrival("mas-pricing"), **specs["delivery"])
    assert v.valid is True
    assert check_delivery(_arrival("mas-pricing")).valid is False
