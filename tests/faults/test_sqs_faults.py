"""Duplicate delivery and reordering on SQS receives, against in-process moto."""

from __future__ import annotations

from typing import Any

import pytest

from harness.faults import Fault, Target, Trigger

from .conftest import Rig

RECEIVE = Target(service="sqs", operation="ReceiveMessage")


def _send(rig: Rig, url: str, *bodies: str, **kw: Any) -> None:
    sqs = rig.plain("sqs")
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b, **kw)


def _bodies(resp: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in resp.get("Messages", [])]


# -- duplicate_delivery ------------------------------------------------------------


def test_duplicate_delivery_returns_a_message_already_delivered(rig: Rig) -> None:
    url = rig.queue()
    _send(rig, url, "a", "b")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs", "worker")
    first = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in first] == ["a"]
    assert first[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert rig.nemesis() == []

    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b", "a"]
    fresh, dup = second
    assert dup["MessageId"] == first[0]["MessageId"]
    assert dup["ReceiptHandle"] == first[0]["ReceiptHandle"]
    assert fresh["Attributes"]["ApproximateReceiveCount"] == "1"
    assert dup["Attributes"]["ApproximateReceiveCount"] == "2"
    (n,) = rig.nemesis("duplicate_delivery")
    assert n.key == "worker:sqs.ReceiveMessage"
    assert n.value == {"fault": "duplicate_delivery#0", "sqs_id": first[0]["MessageId"]}
    # The history shows the duplicate as delivered, with its bumped count.
    done = rig.completions("sqs.ReceiveMessage")[-1]
    assert [(m["sqs_id"], m["receive_count"]) for m in done.value["messages"]] == [
        (fresh["MessageId"], 1),
        (first[0]["MessageId"], 2),
    ]
    # SQS itself never delivered "a" twice: it is still in flight once.
    attrs = rig.plain("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_duplicate_delivery_on_an_empty_receive_redelivers_a_deleted_message(rig: Rig) -> None:
    """At-least-once: even a handled (deleted) message may come back."""
    url = rig.queue()
    _send(rig, url, "a")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    (m,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    (again,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["MessageId"] == m["MessageId"] and again["Body"] == "a"
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_duplicate_delivery_never_duplicates_within_one_response(rig: Rig) -> None:
    """The duplicate is of an *earlier* delivery, not a second copy of a
    message this same receive returns."""
    url = rig.queue()
    _send(rig, url, "a", "b", "c")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE), seed=3)
    sqs = rig.client("sqs")
    resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    ids = [m["MessageId"] for m in resp["Messages"]]
    assert len(ids) == len(set(ids)) == 3
    assert rig.nemesis() == []


def test_duplicate_delivery_respects_max_number_of_messages(rig: Rig) -> None:
    """A receive never returns more than MaxNumberOfMessages: a duplicate that
    does not fit comes with the next receive that has room."""
    url = rig.queue()
    _send(rig, url, "a", "b")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    assert _bodies(sqs.receive_message(QueueUrl=url)) == ["a"]
    assert _bodies(sqs.receive_message(QueueUrl=url)) == ["b"]
    assert rig.nemesis() == []  # not delivered yet
    (dup,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert dup["Body"] == "a" and dup["Attributes"]["ApproximateReceiveCount"] == "2"
    assert len(rig.nemesis("duplicate_delivery")) == 1


def test_duplicate_delivery_with_nothing_ever_delivered_does_nothing(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE))
    assert "Messages" not in rig.client("sqs").receive_message(QueueUrl=url)
    assert rig.nemesis() == []


def test_duplicate_delivery_stays_within_its_queue(rig: Rig) -> None:
    q1, q2 = rig.queue("one"), rig.queue("two")
    _send(rig, q1, "from-one")
    rig.arm(Fault(kind="duplicate_delivery", target=Target(operation="ReceiveMessage")))
    sqs = rig.client("sqs")
    assert _bodies(sqs.receive_message(QueueUrl=q1)) == ["from-one"]
    assert _bodies(sqs.receive_message(QueueUrl=q2)) == []
    assert _bodies(sqs.receive_message(QueueUrl=q1)) == ["from-one"]


# -- reorder ----------------------------------------------------------------------


def test_reorder_reverses_a_multi_message_receive_on_a_standard_queue(rig: Rig) -> None:
    url = rig.queue()
    _send(rig, url, "1", "2", "3")
    rig.arm(Fault(kind="reorder", target=RECEIVE))
    resp = rig.client("sqs", "w").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert _bodies(resp) == ["3", "2", "1"]
    (n,) = rig.nemesis("reorder")
    assert n.key == "w:sqs.ReceiveMessage" and n.value == {"fault": "reorder#0", "reversed": 3}


def test_reorder_holds_a_single_message_back_for_a_later_receive(rig: Rig) -> None:
    url = rig.queue()
    _send(rig, url, "first")
    rig.arm(Fault(kind="reorder", target=RECEIVE, trigger=Trigger(nth=1)))
    sqs = rig.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    (n,) = rig.nemesis("reorder")
    assert n.value == {"fault": "reorder#0", "held": 1}
    _send(rig, url, "second")
    assert _bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["second", "first"]
    assert _bodies(sqs.receive_message(QueueUrl=url)) == []


def test_reorder_held_message_comes_on_the_next_receive_even_when_queue_is_empty(rig: Rig) -> None:
    url = rig.queue()
    _send(rig, url, "only")
    rig.arm(Fault(kind="reorder", target=RECEIVE, trigger=Trigger(nth=1)))
    sqs = rig.client("sqs")
    assert _bodies(sqs.receive_message(QueueUrl=url)) == []
    (m,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert m["Body"] == "only"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])  # its receipt handle is real
    attrs = rig.plain("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_reorder_with_one_message_receives_delivers_out_of_send_order(rig: Rig) -> None:
    """A consumer taking one message at a time sees the second message first."""
    url = rig.queue()
    _send(rig, url, "1", "2")
    rig.arm(Fault(kind="reorder", target=RECEIVE, trigger=Trigger(nth=1)))
    sqs = rig.client("sqs")
    got = [_bodies(sqs.receive_message(QueueUrl=url)) for _ in range(3)]
    assert got == [[], ["2"], ["1"]]


@pytest.mark.parametrize("max_messages", [1, 10])
def test_fifo_queues_are_never_reordered(rig: Rig, max_messages: int) -> None:
    url = rig.queue("jobs.fifo")
    _send(rig, url, "1", "2", "3", MessageGroupId="g")
    rig.arm(Fault(kind="reorder", target=RECEIVE))
    sqs = rig.client("sqs")
    got: list[str] = []
    for _ in range(4):
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages)
        for m in resp.get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert got == ["1", "2", "3"]
    assert rig.nemesis() == []


def test_duplicate_delivery_on_the_first_receive_comes_with_a_later_one(rig: Rig) -> None:
    """Nothing was delivered before the first receive: the duplicate is of a
    message it returns, delivered again by the next receive."""
    url = rig.queue()
    _send(rig, url, "a")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=1)))
    sqs = rig.client("sqs")
    (first,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert rig.nemesis() == []
    (again,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert len(rig.nemesis("duplicate_delivery")) == 1
