"""Sending and receiving the system's pydantic messages over SQS and SNS."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from harness.instrument.context import (
    CORRELATION_ATTR,
    MESSAGE_ID_ATTR,
    MESSAGE_TYPE_ATTR,
    MESSAGE_VERSION_ATTR,
    current_correlation_id,
)
from reference_system.messages import Message

M = TypeVar("M", bound=Message)


class BadMessage(ValueError):
    """A message that does not parse as the expected type (a poison message)."""


def attributes(msg: Message, message_id: str) -> dict[str, Any]:
    attrs = {
        MESSAGE_ID_ATTR: {"DataType": "String", "StringValue": message_id},
        MESSAGE_TYPE_ATTR: {"DataType": "String", "StringValue": msg.message_type},
        MESSAGE_VERSION_ATTR: {"DataType": "Number", "StringValue": str(msg.message_version)},
    }
    cid = current_correlation_id()
    if cid:
        attrs[CORRELATION_ATTR] = {"DataType": "String", "StringValue": cid}
    return attrs


def send(
    sqs: Any,
    queue_url: str,
    msg: Message,
    message_id: str,
    *,
    group: str | None = None,
    dedup: str | None = None,
) -> None:
    kw: dict[str, Any] = {}
    if group is not None:
        kw["MessageGroupId"] = group
        kw["MessageDeduplicationId"] = dedup or message_id
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=msg.model_dump_json(),
        MessageAttributes=attributes(msg, message_id),
        **kw,
    )


def publish(sns: Any, topic_arn: str, msg: Message, message_id: str) -> None:
    sns.publish(
        TopicArn=topic_arn, Message=msg.model_dump_json(), MessageAttributes=attributes(msg, message_id)
    )


def attr(raw: dict[str, Any], name: str) -> str | None:
    v = (raw.get("MessageAttributes") or {}).get(name)
    return v.get("StringValue") if v else None


def parse(raw: dict[str, Any], cls: type[M]) -> M:
    """Validate an SQS message body as ``cls``; raises BadMessage."""
    mtype = attr(raw, MESSAGE_TYPE_ATTR)
    if mtype is not None and mtype != cls.message_type:
        raise BadMessage(f"expected a {cls.message_type} message, got {mtype}")
    try:
        return cls.model_validate_json(raw["Body"])
    except ValidationError as e:
        raise BadMessage(f"invalid {cls.message_type} message: {e.error_count()} error(s)") from None


def identify(raw: dict[str, Any], *fields: str) -> tuple[str, ...] | None:
    """The named string fields of a message body, without validating the rest."""
    try:
        body = json.loads(raw["Body"])
    except (ValueError, KeyError):
        return None
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        return None
    return tuple(body[f] for f in fields)


def receive_count(raw: dict[str, Any]) -> int:
    return int((raw.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))


def receive(sqs: Any, queue_url: str, max_messages: int = 1, wait: int = 0) -> list[dict[str, Any]]:
    r = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=wait,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    return r.get("Messages", []) or []


def delete(sqs: Any, queue_url: str, raw: dict[str, Any]) -> None:
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=raw["ReceiptHandle"])


def delivery_id(raw: dict[str, Any]) -> str:
    """Names this delivery of a message (its receipt handle and receive
    count, shortened): a redelivery, or an injected copy, has another."""
    import hashlib

    receipt = str(raw.get("ReceiptHandle", ""))
    return f"{hashlib.sha1(receipt.encode()).hexdigest()[:10]}#{receive_count(raw)}"


def extend(sqs: Any, queue_url: str, raw: dict[str, Any], seconds: int) -> None:
    """A heartbeat: keep ``raw`` invisible for ``seconds`` more from now."""
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=raw["ReceiptHandle"], VisibilityTimeout=int(seconds)
    )
