"""Key arguments of each recorded AWS call, kept small so recording stays cheap.

Each extractor turns the low-level request parameters (and, for completions,
the parsed response) into the ``key`` and ``value`` of a history operation.
Calls without an extractor are still recorded, with their name only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from harness.instrument.context import CORRELATION_ATTR, MESSAGE_ID_ATTR

Params = dict[str, Any]
Parsed = dict[str, Any]
RequestExtractor = Callable[[Params], tuple[Any, Any]]
ResponseExtractor = Callable[[Params, Parsed], Any]

_deser = TypeDeserializer()

#: Item attributes tried, in order, as the key of a DynamoDB item when the
#: table's key schema was not declared.
DEFAULT_KEY_ATTRS: tuple[str, ...] = ("pk", "sk", "id", "PK", "SK")


def queue_name(url: str | None) -> str | None:
    return url.rsplit("/", 1)[-1] if url else None


def _attr(attrs: dict[str, Any] | None, name: str) -> str | None:
    if not attrs:
        return None
    v = attrs.get(name)
    return v.get("StringValue") if isinstance(v, dict) else None


# --- SQS -------------------------------------------------------------------


def _sqs_send(p: Params) -> tuple[Any, Any]:
    v: dict[str, Any] = {"message_id": _attr(p.get("MessageAttributes"), MESSAGE_ID_ATTR)}
    if "MessageGroupId" in p:
        v["group"] = p["MessageGroupId"]
    if "MessageDeduplicationId" in p:
        v["dedup"] = p["MessageDeduplicationId"]
    return queue_name(p.get("QueueUrl")), v


def _sqs_send_ok(p: Params, r: Parsed) -> Any:
    v = _sqs_send(p)[1]
    v["sqs_id"] = r.get("MessageId")
    return v


def _sqs_send_batch(p: Params) -> tuple[Any, Any]:
    entries = [
        {"message_id": _attr(e.get("MessageAttributes"), MESSAGE_ID_ATTR), "group": e.get("MessageGroupId")}
        for e in p.get("Entries", [])
    ]
    return queue_name(p.get("QueueUrl")), {"entries": entries}


def _sqs_receive_ok(p: Params, r: Parsed) -> Any:
    msgs = []
    for m in r.get("Messages", []) or []:
        attrs = m.get("Attributes") or {}
        mattrs = m.get("MessageAttributes")
        d: dict[str, Any] = {
            "sqs_id": m.get("MessageId"),
            "message_id": _attr(mattrs, MESSAGE_ID_ATTR),
            "correlation_id": _attr(mattrs, CORRELATION_ATTR),
        }
        if "ApproximateReceiveCount" in attrs:
            d["receive_count"] = int(attrs["ApproximateReceiveCount"])
        if "MessageGroupId" in attrs:
            d["group"] = attrs["MessageGroupId"]
        msgs.append(d)
    return {"messages": msgs}


def _queue_only(p: Params) -> tuple[Any, Any]:
    return queue_name(p.get("QueueUrl")), None


# --- DynamoDB ---------------------------------------------------------------


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_plain(x) for x in v), key=repr)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return v


def deserialize(av: dict[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB attribute map as plain JSON-friendly Python (numbers as int/float)."""
    if av is None:
        return None
    return {k: _plain(_deser.deserialize(v)) for k, v in av.items()}


def item_key(table: str | None, key: dict[str, Any] | None, key_attrs: tuple[str, ...]) -> str | None:
    if not key:
        return table
    parts = [str(key[a]) for a in key_attrs if a in key]
    if not parts:
        parts = [str(v) for v in key.values()][:1]
    return "/".join([table or "?", *parts])


def _version_fields(values: dict[str, Any] | None, condition: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values:
        if ":expected_version" in values:
            out["expect_version"] = values[":expected_version"]
        if ":version" in values:
            out["version"] = values[":version"]
    if condition and "attribute_not_exists" in condition and "expect_version" not in out:
        out["expect_version"] = 0
    return out


def make_dynamodb_extractors(
    key_attrs: tuple[str, ...],
) -> dict[str, tuple[RequestExtractor, ResponseExtractor | None]]:
    def put(p: Params) -> tuple[Any, Any]:
        item = deserialize(p.get("Item")) or {}
        eav = deserialize(p.get("ExpressionAttributeValues"))
        v: dict[str, Any] = {"condition": p.get("ConditionExpression")}
        v.update(_version_fields(eav, p.get("ConditionExpression")))
        if "version" in item:
            v["version"] = item["version"]
        return item_key(p.get("TableName"), item, key_attrs), v

    def update(p: Params) -> tuple[Any, Any]:
        eav = deserialize(p.get("ExpressionAttributeValues"))
        v: dict[str, Any] = {"update": p.get("UpdateExpression"), "condition": p.get("ConditionExpression")}
        v.update(_version_fields(eav, p.get("ConditionExpression")))
        return item_key(p.get("TableName"), deserialize(p.get("Key")), key_attrs), v

    def keyed(p: Params) -> tuple[Any, Any]:
        v = {"consistent": bool(p.get("ConsistentRead", False))}
        return item_key(p.get("TableName"), deserialize(p.get("Key")), key_attrs), v

    def get_ok(p: Params, r: Parsed) -> Any:
        item = deserialize(r.get("Item"))
        return {
            "item": item,
            "version": item.get("version") if item else None,
            "consistent": bool(p.get("ConsistentRead", False)),
        }

    def write_ok(p: Params, r: Parsed) -> Any:
        attrs = deserialize(r.get("Attributes"))
        return {"version": attrs.get("version")} if attrs else None

    def table_only(p: Params) -> tuple[Any, Any]:
        return p.get("TableName"), None

    def count_ok(p: Params, r: Parsed) -> Any:
        return {"count": r.get("Count")}

    def transact(p: Params) -> tuple[Any, Any]:
        keys = []
        for entry in p.get("TransactItems", []):
            for kind, body in entry.items():
                k = body.get("Key") or body.get("Item")
                keys.append({"op": kind, "key": item_key(body.get("TableName"), deserialize(k), key_attrs)})
        return None, {"items": keys}

    return {
        "PutItem": (put, write_ok),
        "UpdateItem": (update, write_ok),
        "DeleteItem": (keyed, write_ok),
        "GetItem": (keyed, get_ok),
        "Query": (table_only, count_ok),
        "Scan": (table_only, count_ok),
        "TransactWriteItems": (transact, None),
    }


# --- SNS, EventBridge, Step Functions ----------------------------------------


def _sns_publish(p: Params) -> tuple[Any, Any]:
    arn = p.get("TopicArn") or p.get("TargetArn") or ""
    return arn.rsplit(":", 1)[-1], {"message_id": _attr(p.get("MessageAttributes"), MESSAGE_ID_ATTR)}


def _sns_publish_ok(p: Params, r: Parsed) -> Any:
    v = _sns_publish(p)[1]
    v["sns_id"] = r.get("MessageId")
    return v


def _events_put(p: Params) -> tuple[Any, Any]:
    entries = p.get("Entries", [])
    buses = sorted({e.get("EventBusName", "default") for e in entries})
    return ",".join(buses), {"detail_types": [e.get("DetailType") for e in entries]}


def _events_put_ok(p: Params, r: Parsed) -> Any:
    return {"failed": r.get("FailedEntryCount", 0)}


def _sfn_start(p: Params) -> tuple[Any, Any]:
    arn = p.get("stateMachineArn", "")
    return arn.rsplit(":", 1)[-1], {"name": p.get("name")}


def _sfn_start_ok(p: Params, r: Parsed) -> Any:
    return {"name": p.get("name"), "execution": r.get("executionArn", "").rsplit(":", 1)[-1]}


def _sfn_token(p: Params) -> tuple[Any, Any]:
    tok = p.get("taskToken", "")
    return tok[-16:], None


def _sfn_execution(p: Params) -> tuple[Any, Any]:
    return p.get("executionArn", "").rsplit(":", 1)[-1], None


def build_extractors(
    key_attrs: tuple[str, ...] = DEFAULT_KEY_ATTRS,
) -> dict[tuple[str, str], tuple[RequestExtractor, ResponseExtractor | None]]:
    """The table of extractors, keyed by (service, operation)."""
    table: dict[tuple[str, str], tuple[RequestExtractor, ResponseExtractor | None]] = {
        ("sqs", "SendMessage"): (_sqs_send, _sqs_send_ok),
        ("sqs", "SendMessageBatch"): (_sqs_send_batch, None),
        ("sqs", "ReceiveMessage"): (_queue_only, _sqs_receive_ok),
        ("sqs", "DeleteMessage"): (_queue_only, None),
        ("sqs", "ChangeMessageVisibility"): (_queue_only, None),
        ("sqs", "PurgeQueue"): (_queue_only, None),
        ("sns", "Publish"): (_sns_publish, _sns_publish_ok),
        ("events", "PutEvents"): (_events_put, _events_put_ok),
        ("stepfunctions", "StartExecution"): (_sfn_start, _sfn_start_ok),
        ("stepfunctions", "SendTaskSuccess"): (_sfn_token, None),
        ("stepfunctions", "SendTaskFailure"): (_sfn_token, None),
        ("stepfunctions", "SendTaskHeartbeat"): (_sfn_token, None),
        ("stepfunctions", "DescribeExecution"): (_sfn_execution, None),
    }
    for op, ex in make_dynamodb_extractors(key_attrs).items():
        table[("dynamodb", op)] = ex
    return table
