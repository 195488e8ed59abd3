"""FIFO deduplication on the embedded backend, in both modes: a resend within
five minutes is accepted, answered with the first copy's MessageId and never
delivered, even after the first copy was deleted (SQS SendMessage: "accepted
successfully but aren't delivered during the 5-minute deduplication
interval"; FIFO key terms: "continues tracking the deduplication ID even
after the message has been received and deleted")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from harness.backends import Endpoints, embedded
from harness.backends._dedup import INTERVAL_MS


@pytest.fixture(params=["inprocess", "server"])
def sqs(request: pytest.FixtureRequest) -> Iterator[Any]:
    with embedded(request.param) as ep:
        yield _client(ep)


def _client(ep: Endpoints) -> Any:
    return boto3.Session(**ep.session_kwargs()).client("sqs", endpoint_url=ep.url_for("sqs"))


def _fifo(sqs: Any, name: str = "jobs.fifo", **attrs: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attrs})["QueueUrl"])


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete everything visible, in order."""
    got: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return got
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        got.extend(msgs)


def _send(sqs: Any, url: str, body: str, group: str = "g", **kw: Any) -> dict[str, Any]:
    return dict(sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **kw))


def test_a_resend_after_the_first_copy_was_deleted_is_not_delivered(sqs: Any) -> None:
    url = _fifo(sqs)
    first = _send(sqs, url, "a", MessageDeduplicationId="d1")
    assert [m["Body"] for m in _drain(sqs, url)] == ["a"]
    again = _send(sqs, url, "a", MessageDeduplicationId="d1")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert _drain(sqs, url) == []


def test_content_based_dedup_drops_the_same_body_after_delete(sqs: Any) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true")
    first = _send(sqs, url, "same body")
    assert len(_drain(sqs, url)) == 1
    assert _send(sqs, url, "same body")["MessageId"] == first["MessageId"]
    assert _drain(sqs, url) == []
    # An explicit id overrides the hash: a new id is a new message.
    _send(sqs, url, "same body", MessageDeduplicationId="other")
    assert [m["Body"] for m in _drain(sqs, url)] == ["same body"]


def test_a_resend_while_the_first_copy_is_queued_names_the_first_copy(sqs: Any) -> None:
    url = _fifo(sqs)
    first = _send(sqs, url, "a", MessageDeduplicationId="d1")
    assert _send(sqs, url, "a", MessageDeduplicationId="d1")["MessageId"] == first["MessageId"]
    (m,) = _drain(sqs, url)
    assert m["MessageId"] == first["MessageId"]


def test_different_dedup_ids_are_all_delivered_in_order(sqs: Any) -> None:
    url = _fifo(sqs)
    ids = [_send(sqs, url, b, MessageDeduplicationId=b)["MessageId"] for b in "abc"]
    assert len(set(ids)) == 3
    assert [m["Body"] for m in _drain(sqs, url)] == ["a", "b", "c"]


def test_a_batch_entry_that_repeats_a_dedup_id_succeeds_and_is_not_delivered(sqs: Any) -> None:
    url = _fifo(sqs)
    first = _send(sqs, url, "a", MessageDeduplicationId="d1")
    _drain(sqs, url)
    resp = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "dup", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
            {"Id": "new", "MessageBody": "b", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
        ],
    )
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert set(ok) == {"dup", "new"} and not resp.get("Failed")
    assert ok["dup"]["MessageId"] == first["MessageId"]
    assert ok["new"]["MessageId"] != first["MessageId"]
    assert [m["Body"] for m in _drain(sqs, url)] == ["b"]


def test_message_group_scope_deduplicates_within_a_group_only(sqs: Any) -> None:
    url = _fifo(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = _send(sqs, url, "a", group="g1", MessageDeduplicationId="d")
    b = _send(sqs, url, "b", group="g2", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"]
    assert _send(sqs, url, "a", group="g1", MessageDeduplicationId="d")["MessageId"] == a["MessageId"]
    assert sorted(m["Body"] for m in _drain(sqs, url)) == ["a", "b"]


def test_queue_scope_deduplicates_across_groups(sqs: Any) -> None:
    url = _fifo(sqs)
    a = _send(sqs, url, "a", group="g1", MessageDeduplicationId="d")
    assert _send(sqs, url, "b", group="g2", MessageDeduplicationId="d")["MessageId"] == a["MessageId"]
    assert [m["Body"] for m in _drain(sqs, url)] == ["a"]


def test_after_the_interval_the_same_id_is_a_new_message(sqs: Any) -> None:
    """Time is moved by ageing what the queue remembers, not by waiting."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    url = _fifo(sqs)
    first = _send(sqs, url, "a", MessageDeduplicationId="d1")
    _drain(sqs, url)
    region = sqs.meta.region_name
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][region].queues["jobs.fifo"]
    memory = queue.__dict__["_harness_dedup"]
    for key, (message, sent) in list(memory.items()):
        memory[key] = (message, sent - INTERVAL_MS)
    again = _send(sqs, url, "a", MessageDeduplicationId="d1")
    assert again["MessageId"] != first["MessageId"]
    assert [m["Body"] for m in _drain(sqs, url)] == ["a"]


def test_a_duplicate_is_still_refused_for_what_any_send_is_refused_for(sqs: Any) -> None:
    from botocore.exceptions import ClientError

    url = _fifo(sqs)
    _send(sqs, url, "a", MessageDeduplicationId="d1")
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="a", MessageDeduplicationId="d1")  # no group


def test_standard_queues_do_not_deduplicate(sqs: Any) -> None:
    url = str(sqs.create_queue(QueueName="plain")["QueueUrl"])
    ids = {sqs.send_message(QueueUrl=url, MessageBody="same")["MessageId"] for _ in range(2)}
    assert len(ids) == 2
    assert [m["Body"] for m in _drain(sqs, url)] == ["same", "same"]
