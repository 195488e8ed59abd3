"""Key arguments of each recorded AWS call, kept small so recording stays cheap.

Each extractor turns the low-level request parameters (and, for completions,
the parsed response) into the ``key`` and ``value`` of a history operation.
Calls without an extractor are still recorded, with their name only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
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

#: ReturnValues under which a write's response holds the item as written.
_NEW_VALUES = frozenset({"ALL_NEW", "UPDATED_NEW"})


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


# --- optimistic locking: which attribute is the version ----------------------


@dataclass(frozen=True)
class Versioning:
    """Items of tables matching ``table`` (a glob) are versioned by
    ``attribute``: a writer checks it (a conditional PutItem, or an UpdateItem
    whose condition is ``#v = :expected``) and sets or bumps it. ``expected``
    names the placeholder that carries the expected version when the
    condition does not say it plainly (None: read it from the condition).

    A write to such an item is recorded with ``version`` (the version it
    writes) and ``expect_version`` (the one it requires), whatever the
    attribute and placeholders are called: that is what the lost-update and
    session checkers read."""

    table: str = "*"
    attribute: str = "version"
    expected: str | None = None


#: The rule used when nothing is declared (by :func:`declare_versioned` or
#: ``build_extractors(versioned=...)``): a ``version`` attribute, expected in
#: ``:expected_version``.
DEFAULT_VERSIONING = Versioning("*", "version", ":expected_version")

_DECLARED: list[Versioning] = []


def declare_versioned(
    table: str = "*", attribute: str = "version", expected: str | None = None
) -> Versioning:
    """Declare, for every session built afterwards in this process without
    an explicit ``versioned``, that items of tables matching ``table`` are
    versioned by ``attribute`` (see :class:`Versioning`). The first declared
    rule whose glob matches a table wins; once any is declared, the default
    rule no longer applies."""
    rule = Versioning(table, attribute, expected)
    _DECLARED.append(rule)
    return rule


def clear_versioned() -> None:
    """Forget every :func:`declare_versioned` rule."""
    _DECLARED.clear()


def versioning_rules(versioned: Iterable[Any] | None = None) -> tuple[Versioning, ...]:
    """The rules a session applies: ``versioned`` (objects with ``table``,
    ``attribute`` and ``expected``, such as
    :class:`harness.system.VersionedItems`; an empty sequence: no versioned
    items), else the declared ones, else :data:`DEFAULT_VERSIONING`."""
    if versioned is None:
        return tuple(_DECLARED) or (DEFAULT_VERSIONING,)
    return tuple(
        v
        if isinstance(v, Versioning)
        else Versioning(str(v.table), str(v.attribute), getattr(v, "expected", None) or None)
        for v in versioned
    )


def _rule_for(rules: tuple[Versioning, ...], table: str | None) -> Versioning | None:
    for r in rules:
        if fnmatchcase(table or "", r.table):
            return r
    return None


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_OPERAND = r"#\w+|:\w+|[A-Za-z_][\w]*"
_EQ = re.compile(rf"(?<![\w#:])(?P<a>{_OPERAND})\s*=(?!=)\s*(?P<b>{_OPERAND})")
_PLUS = re.compile(r"^(?P<x>.+?)\s*\+\s*(?P<y>.+)$")
_IF_NOT_EXISTS = re.compile(
    r"^if_not_exists\s*\(\s*(?P<path>[^,]+?)\s*,\s*(?P<zero>:\w+)\s*\)$", re.IGNORECASE
)


def _split_top(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def _clauses(update: str) -> dict[str, str]:
    """``{"SET": "...", "ADD": "..."}`` of an UpdateExpression."""
    out: dict[str, str] = {}
    bits = _CLAUSE.split(update)
    for i in range(1, len(bits) - 1, 2):
        out[bits[i].upper()] = out.get(bits[i].upper(), "") + bits[i + 1]
    return out


class _Expr:
    """The expressions of one write, with names resolved against a rule."""

    def __init__(self, p: Params, attribute: str) -> None:
        self.names: dict[str, str] = p.get("ExpressionAttributeNames") or {}
        self.values = deserialize(p.get("ExpressionAttributeValues")) or {}
        self.attribute = attribute

    def is_attr(self, token: str) -> bool:
        t = token.strip()
        return self.names.get(t, t) == self.attribute if t.startswith("#") else t == self.attribute

    def expected(self, condition: str | None, placeholder: str | None) -> Any:
        """The version ``condition`` requires (0: the item must not exist), or None."""
        if placeholder and placeholder in self.values:
            return self.values[placeholder]
        if not condition:
            return None
        for m in _EQ.finditer(condition):
            a, b = m["a"], m["b"]
            if self.is_attr(a) and b in self.values:
                return self.values[b]
            if self.is_attr(b) and a in self.values:
                return self.values[a]
        if "attribute_not_exists" in condition:
            return 0
        return None

    def written(self, update: str | None, expected: Any) -> Any:
        """The version an UpdateExpression writes, or None if it cannot be told."""
        if not update:
            return None
        clauses = _clauses(update)
        for assign in _split_top(clauses.get("SET", "")):
            lhs, eq, rhs = assign.partition("=")
            if not eq or not self.is_attr(lhs):
                continue
            rhs = rhs.strip()
            if rhs in self.values:
                return self.values[rhs]
            m = _PLUS.match(rhs)
            if m is None:
                return None
            for base, inc in ((m["x"], m["y"].strip()), (m["y"], m["x"].strip())):
                if inc in self.values:
                    return self._bumped(base.strip(), self.values[inc], expected)
            return None
        for part in _split_top(clauses.get("ADD", "")):
            path, _, inc = part.strip().partition(" ")
            if self.is_attr(path) and inc.strip() in self.values:
                start = 0 if expected is None else expected
                return _add(start, self.values[inc.strip()])
        return None

    def _bumped(self, base: str, inc: Any, expected: Any) -> Any:
        if self.is_attr(base):
            return _add(expected, inc)
        m = _IF_NOT_EXISTS.match(base)
        if m and self.is_attr(m["path"]):
            return _add(self.values.get(m["zero"]) if expected in (None, 0) else expected, inc)
        return None


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return a + b
    return None


def make_dynamodb_extractors(
    key_attrs: tuple[str, ...],
    versioned: Iterable[Any] | None = None,
) -> dict[str, tuple[RequestExtractor, ResponseExtractor | None]]:
    rules = versioning_rules(versioned)

    def version_fields(p: Params, item: dict[str, Any] | None) -> dict[str, Any]:
        rule = _rule_for(rules, p.get("TableName"))
        if rule is None:
            return {}
        ex = _Expr(p, rule.attribute)
        out: dict[str, Any] = {}
        expect = ex.expected(p.get("ConditionExpression"), rule.expected)
        if expect is not None:
            out["expect_version"] = expect
        version = (
            item.get(rule.attribute) if item is not None else ex.written(p.get("UpdateExpression"), expect)
        )
        if version is not None:
            out["version"] = version
        return out

    def attribute(p: Params) -> str | None:
        rule = _rule_for(rules, p.get("TableName"))
        return rule.attribute if rule is not None else None

    def put(p: Params) -> tuple[Any, Any]:
        item = deserialize(p.get("Item")) or {}
        v: dict[str, Any] = {"condition": p.get("ConditionExpression")}
        v.update(version_fields(p, item))
        return item_key(p.get("TableName"), item, key_attrs), v

    def update(p: Params) -> tuple[Any, Any]:
        v: dict[str, Any] = {"update": p.get("UpdateExpression"), "condition": p.get("ConditionExpression")}
        v.update(version_fields(p, None))
        return item_key(p.get("TableName"), deserialize(p.get("Key")), key_attrs), v

    def keyed(p: Params) -> tuple[Any, Any]:
        v = {"consistent": bool(p.get("ConsistentRead", False))}
        return item_key(p.get("TableName"), deserialize(p.get("Key")), key_attrs), v

    def get_ok(p: Params, r: Parsed) -> Any:
        item = deserialize(r.get("Item"))
        attr = attribute(p)
        return {
            "item": item,
            "version": item.get(attr) if item and attr else None,
            "consistent": bool(p.get("ConsistentRead", False)),
        }

    def write_ok(p: Params, r: Parsed) -> Any:
        # only the item as written tells its version (ALL_OLD gives the one replaced)
        attrs = deserialize(r.get("Attributes"))
        attr = attribute(p)
        if not attrs or attr is None or p.get("ReturnValues") not in _NEW_VALUES:
            return None
        return {"version": attrs.get(attr)}

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
    versioned: Iterable[Any] | None = None,
) -> dict[tuple[str, str], tuple[RequestExtractor, ResponseExtractor | None]]:
    """The table of extractors, keyed by (service, operation); ``versioned``:
    the versioned items' rules (see :func:`versioning_rules`)."""
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
    for op, ex in make_dynamodb_extractors(key_attrs, versioned).items():
        table[("dynamodb", op)] = ex
    return table
