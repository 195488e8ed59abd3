"""The counter system's two agents, each a ``step()``-based object.

- :class:`Intake` takes increment requests off the requests queue, records
  each as a task (state ``received``), rejects invalid ones (``rejected``)
  and forwards the rest to the counters over a standard queue; it reads the
  counters' notices from the FIFO queue and marks each task ``applied``,
  recording each notice's application (``message.apply``) so the ordering
  checker judges the order it processes each counter's notices in.
- :class:`Counter` applies one increment per step to its counter item with
  optimistic locking (``version = :expected_version``), remembering which
  requests it applied so a redelivered one is not applied twice, marks the
  task ``counted`` and sends a notice to the counter's FIFO message group.

A task ends (``applied``) only once its notice is back at the intake, so a
duplicate or redelivered increment still in flight is handled while the
task is open; a simulated run stops as soon as every task has ended.

Every method a planted bug replaces (see ``mutants.py``) is small and named.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from examples.counter.resources import COUNTERS, Resources
from harness.history.recorder import Recorder
from harness.instrument import Effects, correlation
from harness.system import AgentEnv

#: Increments a request may ask for (anything else is rejected).
MIN_AMOUNT, MAX_AMOUNT = 1, 100
#: Conflicting writes a counter retries before it leaves the message for later.
MAX_CONFLICTS = 20

MESSAGE_ID = "message_id"


def _effects(env: AgentEnv) -> Effects:
    rec = getattr(env.session, "recorder", None)
    return Effects(rec if rec is not None else Recorder(), env.name, process=env.name)


def _attrs(message_id: str) -> dict[str, Any]:
    return {MESSAGE_ID: {"DataType": "String", "StringValue": message_id}}


def _receive(sqs: Any, url: str, n: int) -> list[dict[str, Any]]:
    r = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=n,
        WaitTimeSeconds=0,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    return list(r.get("Messages") or [])


def _parse(raw: dict[str, Any]) -> dict[str, Any] | None:
    try:
        body = json.loads(raw["Body"])
    except (KeyError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("request_id"), str) else None


def valid(req: dict[str, Any]) -> bool:
    amount = req.get("amount")
    return (
        req.get("counter") in COUNTERS
        and isinstance(amount, int)
        and not isinstance(amount, bool)
        and MIN_AMOUNT <= amount <= MAX_AMOUNT
    )


class _Agent:
    """What both agents are built from: their clients, resources and effects."""

    def __init__(self, env: AgentEnv) -> None:
        self.name = env.name
        self.res: Resources = env.resources
        self.sqs = env.session.client("sqs")
        self.ddb = env.session.client("dynamodb")
        self.effects = _effects(env)


class Intake(_Agent):
    """Requests queue -> tasks table -> increments queue; drains notices."""

    def step(self) -> bool:
        took = self._take_requests()
        return self._drain_notices() or took

    def _take_requests(self) -> bool:
        msgs = _receive(self.sqs, self.res.requests_url, 10)
        for raw in msgs:
            req = _parse(raw)
            if req is None:
                self.effects.note("intake.drop", None, {"body": raw.get("Body")}, failed=True, error="Bad")
            else:
                with correlation(req["request_id"]):
                    self.take(req)
            self.sqs.delete_message(QueueUrl=self.res.requests_url, ReceiptHandle=raw["ReceiptHandle"])
        return bool(msgs)

    def take(self, req: dict[str, Any]) -> None:
        rid = req["request_id"]
        self._create(req)
        if valid(req):
            self._forward(req)
        else:
            self._reject(rid)

    def _create(self, req: dict[str, Any]) -> None:
        """The task, in its initial state; a repeated request finds it made."""
        with contextlib.suppress(self.ddb.exceptions.ConditionalCheckFailedException):
            self.ddb.put_item(
                TableName=self.res.tasks_table,
                Item={"pk": {"S": req["request_id"]}, "state": {"S": "received"}},
                ConditionExpression="attribute_not_exists(pk)",
            )

    def _reject(self, rid: str) -> None:
        if move(self.ddb, self.res.tasks_table, rid, "received", "rejected"):
            self.effects.note("state.transition", rid, {"from": "received", "to": "rejected"})

    def _forward(self, req: dict[str, Any]) -> None:
        self.sqs.send_message(
            QueueUrl=self.res.increments_url,
            MessageBody=json.dumps(req, sort_keys=True),
            MessageAttributes=_attrs(f"increment:{req['request_id']}"),
        )

    def _drain_notices(self) -> bool:
        msgs = _receive(self.sqs, self.res.notices_url, 10)
        for raw in msgs:
            note = _parse(raw)
            if note is not None:
                with correlation(note["request_id"]):
                    self.confirm(note["request_id"])
                    self.applied(raw)
            else:
                self.applied(raw)  # dropped: processed, with no effect
            self.sqs.delete_message(QueueUrl=self.res.notices_url, ReceiptHandle=raw["ReceiptHandle"])
        return bool(msgs)

    def applied(self, raw: dict[str, Any]) -> None:
        """Record that a notice was applied, in its FIFO group's order (the
        ordering checker judges it): key = the queue's name, as its SQS
        operations are recorded."""
        attrs = raw.get("MessageAttributes") or {}
        self.effects.note(
            "message.apply",
            self.res.notices_url.rsplit("/", 1)[-1],
            {
                "message_id": (attrs.get(MESSAGE_ID) or {}).get("StringValue"),
                "sqs_id": raw.get("MessageId"),
                "group": (raw.get("Attributes") or {}).get("MessageGroupId"),
            },
        )

    def confirm(self, rid: str) -> None:
        if move(self.ddb, self.res.tasks_table, rid, "counted", "applied"):
            self.effects.note("state.transition", rid, {"from": "counted", "to": "applied"})


def move(ddb: Any, table: str, rid: str, frm: str, to: str) -> bool:
    """Move task ``rid`` from ``frm`` to ``to``; False if it was not in ``frm``."""
    try:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": rid}},
            UpdateExpression="SET #s = :to",
            ConditionExpression="#s = :from",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":to": {"S": to}, ":from": {"S": frm}},
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True


class Conflict(Exception):
    """Too many concurrent writers: the message is left for a later delivery."""


class Counter(_Agent):
    """Increments queue -> counter item (optimistic locking) -> task -> notice."""

    def step(self) -> bool:
        msgs = _receive(self.sqs, self.res.increments_url, 1)
        if not msgs:
            return False
        raw = msgs[0]
        req = _parse(raw)
        if req is not None:
            with correlation(req["request_id"]):
                self.handle(req, raw)
        self.sqs.delete_message(QueueUrl=self.res.increments_url, ReceiptHandle=raw["ReceiptHandle"])
        return True

    def handle(self, req: dict[str, Any], raw: dict[str, Any]) -> None:
        rid = req["request_id"]
        self.effects.attempt(
            "increment",
            rid,
            lambda: self.apply(req, raw),
            {"counter": req["counter"], "amount": req["amount"]},
        )
        self.mark_counted(rid)
        self.notify(req)

    # -- the increment, exactly once ---------------------------------------------

    def apply(self, req: dict[str, Any], raw: dict[str, Any]) -> bool:
        """Add the request's amount to its counter unless it was already
        added; returns whether this call added it."""
        for _ in range(MAX_CONFLICTS):
            item = self.read(req["counter"])
            if self.seen(item, req, raw):
                return False
            version = int(item["version"]["N"])
            total = int(item["total"]["N"]) + int(req["amount"])
            try:
                self.write(req["counter"], version, total, self.dedup_key(req, raw), req["request_id"])
            except self.ddb.exceptions.ConditionalCheckFailedException:
                continue  # someone else wrote first: read again
            return True
        raise Conflict(f"{req['counter']}: {MAX_CONFLICTS} conflicting writes in a row")

    def read(self, counter: str) -> dict[str, Any]:
        r = self.ddb.get_item(
            TableName=self.res.counters_table, Key={"pk": {"S": counter}}, ConsistentRead=True
        )
        return dict(r["Item"])

    def dedup_key(self, req: dict[str, Any], raw: dict[str, Any]) -> str:
        """What the counter remembers of an applied request: its id."""
        return str(req["request_id"])

    def seen(self, item: dict[str, Any], req: dict[str, Any], raw: dict[str, Any]) -> bool:
        return self.dedup_key(req, raw) in item.get("applied", {}).get("SS", [])

    def write(self, counter: str, expected: int, total: int, key: str, rid: str) -> None:
        self.ddb.update_item(
            TableName=self.res.counters_table,
            Key={"pk": {"S": counter}},
            UpdateExpression="SET #t = :total, #l = :last, version = :version ADD #a :key",
            ConditionExpression="version = :expected_version",
            ExpressionAttributeNames={"#t": "total", "#a": "applied", "#l": "last"},
            ExpressionAttributeValues={
                ":total": {"N": str(total)},
                ":last": {"S": rid},
                ":version": {"N": str(expected + 1)},
                ":expected_version": {"N": str(expected)},
                ":key": {"SS": [key]},
            },
        )

    # -- the task and the notice ----------------------------------------------------

    def mark_counted(self, rid: str) -> None:
        if move(self.ddb, self.res.tasks_table, rid, "received", "counted"):
            self.effects.note("state.transition", rid, {"from": "received", "to": "counted"})

    def notify(self, req: dict[str, Any]) -> None:
        rid = req["request_id"]
        self.sqs.send_message(
            QueueUrl=self.res.notices_url,
            MessageBody=json.dumps({"request_id": rid, "counter": req["counter"]}, sort_keys=True),
            MessageAttributes=_attrs(f"notice:{rid}"),
            MessageGroupId=req["counter"],
            MessageDeduplicationId=rid,
        )
