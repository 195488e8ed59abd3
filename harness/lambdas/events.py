"""Events in the shape Lambda hands them to a handler, and the handler's
partial batch response as Lambda reads it.

- SQS: "Using Lambda with Amazon SQS" (the example event) in the AWS Lambda
  developer guide.
- Partial batch responses: "Reporting batch item failures" / "Handling
  errors for an SQS event source" (its success and failure conditions).
- EventBridge: "Amazon EventBridge events" (the event structure) in the
  EventBridge user guide; a rule's SQS target receives the event JSON as the
  message body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

#: The top-level fields of every EventBridge event.
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class InvalidBatchResponse(ValueError):
    """A partial batch response Lambda would reject: the whole batch fails."""


def queue_arn_parts(arn: str) -> tuple[str, str, str]:
    """``(region, account, queue name)`` of ``arn:aws:sqs:region:account:name``."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return parts[3], parts[4], parts[5]


def _b64(value: Any) -> str:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def lambda_message_attributes(attrs: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """SQS message attributes as boto3 returns them (``StringValue``,
    ``BinaryValue`` as bytes, ``DataType``) in Lambda's lower-camel form
    (``stringValue``, ``binaryValue`` base64-encoded, ``dataType``, and the
    ``stringListValues`` / ``binaryListValues`` lists, empty)."""
    out: dict[str, dict[str, Any]] = {}
    for name, a in (attrs or {}).items():
        v: dict[str, Any] = {}
        if "StringValue" in a:
            v["stringValue"] = a["StringValue"]
        if "BinaryValue" in a:
            v["binaryValue"] = _b64(a["BinaryValue"])
        v["stringListValues"] = list(a.get("StringListValues") or [])
        v["binaryListValues"] = [_b64(b) for b in a.get("BinaryListValues") or []]
        v["dataType"] = a.get("DataType", "String")
        out[name] = v
    return out


def sqs_record(message: Mapping[str, Any], *, queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event for a message from ReceiveMessage
    (asked with every system and message attribute)."""
    region = queue_arn_parts(queue_arn)[0]
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        # System attributes pass through as SQS gives them: all strings
        # (ApproximateReceiveCount, SentTimestamp, SenderId,
        # ApproximateFirstReceiveTimestamp; on FIFO queues also
        # SequenceNumber, MessageGroupId, MessageDeduplicationId).
        "attributes": {k: str(v) for k, v in (message.get("Attributes") or {}).items()},
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes")),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """``{"Records": [...]}``, in the order the messages were received."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn) for m in messages]}


def batch_item_failures(response: Any, message_ids: Iterable[str]) -> frozenset[str]:
    """The message ids a handler reported as failed, read as Lambda reads a
    partial batch response (ReportBatchItemFailures turned on).

    A complete success (nothing failed): None, an empty or null
    ``batchItemFailures`` list, or a response without that key. A complete
    failure (raises :class:`InvalidBatchResponse`): a response that is not a
    JSON object, a ``batchItemFailures`` that is not a list, an entry without
    an ``itemIdentifier`` (or a wrongly named key), an empty or null
    identifier, or one that names no message of the batch."""
    if response is None:
        return frozenset()
    if not isinstance(response, Mapping):
        raise InvalidBatchResponse(f"response is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return frozenset()
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures is not a list")
    known = set(message_ids)
    failed: set[str] = set()
    for entry in failures:
        if not isinstance(entry, Mapping) or "itemIdentifier" not in entry:
            raise InvalidBatchResponse(f"entry without itemIdentifier: {entry!r}")
        ident = entry["itemIdentifier"]
        if not isinstance(ident, str) or not ident:
            raise InvalidBatchResponse(f"empty or null itemIdentifier: {ident!r}")
        if ident not in known:
            raise InvalidBatchResponse(f"itemIdentifier {ident!r} is not a message of the batch")
        failed.add(ident)
    return frozenset(failed)


def eventbridge_event(body: str) -> Any:
    """The event a rule delivered to an SQS target (the message body is the
    event JSON). A body that is not JSON is handed over as the string."""
    try:
        return json.loads(body)
    except ValueError:
        return body


def is_eventbridge_event(event: Any) -> bool:
    """Whether ``event`` has every top-level field of an EventBridge event."""
    return isinstance(event, Mapping) and all(k in event for k in EVENT_FIELDS)


def correlation_of_records(records: list[dict[str, Any]], attr: str) -> str | None:
    """The correlation id every record carries in message attribute ``attr``
    (None when they differ or some have none)."""
    seen = {(r.get("messageAttributes") or {}).get(attr, {}).get("stringValue") for r in records}
    if len(seen) == 1:
        (cid,) = seen
        return cid if isinstance(cid, str) and cid else None
    return None
