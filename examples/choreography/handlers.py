"""The choreography's Lambda handlers: ``handler(event, context)`` each.

A :class:`Shop` holds one function's clients and effects; its methods
``intake``, ``pricing``, ``stock`` and ``fulfil`` are the handlers. Every
handler takes an SQS event (a batch), handles each record on its own and
answers with a partial batch response: a record that met a transient error
or a conflicting write is reported in ``batchItemFailures`` and comes back
after its visibility timeout; the others are deleted.

An order moves ``placed -> priced | reserved -> ready -> done``. Pricing
(which charges the card) and stock (which holds the units) react to the same
``OrderPlaced`` event in either order and share the order item with
optimistic locking on its ``rev`` attribute (``rev = :expected_rev``); stock
items are held the same way. A write that loses the race fails its record,
and the queue retries it. Whichever of the two completes the order publishes
``OrderReady``, and fulfilment marks the order done. Each step is idempotent
(the charge by the order's idempotency key, the hold by the order id), so a
retried, redelivered or duplicated event does nothing twice; a step whose
write succeeded but whose event was lost publishes it again when the event
that led to it comes back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from examples.choreography.resources import PRICES, SOURCE, Resources
from harness.history.recorder import Recorder
from harness.instrument import Effects, correlation
from harness.system import AgentEnv

#: Errors that fail one record (it is retried), not the whole invocation.
RETRYABLE: tuple[type[BaseException], ...] = (ClientError, BotoCoreError)

Item = dict[str, Any]


class Conflict(Exception):
    """Someone wrote the item since it was read: the record is retried (by the
    queue, after its visibility timeout) rather than in the handler."""


class NotYet(Exception):
    """The order an event names is not readable yet: retried later."""


def _value(av: dict[str, Any]) -> Any:
    if "S" in av:
        return av["S"]
    if "N" in av:
        return int(av["N"])
    if "BOOL" in av:
        return bool(av["BOOL"])
    if "SS" in av:
        return set(av["SS"])
    raise ValueError(f"unexpected attribute value {av!r}")


def _av(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, int):
        return {"N": str(v)}
    return {"S": str(v)}


class Shop:
    """The clients, effects and handlers of one function."""

    def __init__(self, env: AgentEnv) -> None:
        self.name = env.name
        self.res: Resources = env.resources
        self.ddb = env.session.client("dynamodb")
        self.events = env.session.client("events")
        rec = getattr(env.session, "recorder", None)
        self.effects = Effects(rec if rec is not None else Recorder(), env.name, process=env.name)
        self.ids = env.ids

    # -- the handlers -----------------------------------------------------------------

    def intake(self, event: Any, context: Any) -> dict[str, Any]:
        return self.each(event, self.take_order, lambda body: body)

    def pricing(self, event: Any, context: Any) -> dict[str, Any]:
        return self.each(event, self.price, _detail)

    def stock(self, event: Any, context: Any) -> dict[str, Any]:
        return self.each(event, self.reserve, _detail)

    def fulfil(self, event: Any, context: Any) -> dict[str, Any]:
        return self.each(event, self.finish, _detail)

    def each(
        self,
        event: Any,
        fn: Callable[[dict[str, Any], dict[str, Any]], None],
        payload: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run ``fn(payload, record)`` for each record; report those that failed."""
        failed = []
        for record in event["Records"]:
            body = payload(json.loads(record["body"]))
            with correlation(str(body.get("order_id"))):
                try:
                    fn(body, record)
                except (*RETRYABLE, Conflict, NotYet):
                    failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    # -- one record each ------------------------------------------------------------------

    def take_order(self, order: dict[str, Any], record: dict[str, Any]) -> None:
        oid = order["order_id"]
        try:
            self.ddb.put_item(
                TableName=self.res.orders_table,
                Item={
                    "pk": {"S": oid},
                    "state": {"S": "placed"},
                    "rev": {"N": "1"},
                    "sku": {"S": order["sku"]},
                    "qty": {"N": str(order["qty"])},
                    "card": {"S": order["card"]},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.ddb.exceptions.ConditionalCheckFailedException:
            o = self.order(oid)
            if o is None or o["state"] != "placed":
                return  # taken before, and already under way
        self.publish("OrderPlaced", oid)

    def price(self, d: dict[str, Any], record: dict[str, Any]) -> None:
        """Quote the order and charge the card (once, by the order's idempotency key)."""
        oid = d["order_id"]
        o = self.order(oid)
        if o is None:
            raise NotYet(oid)
        if "price" in o:
            self.republish(o)
            return
        amount = PRICES[o["sku"]] * o["qty"]
        self.effects.attempt(
            "charge",
            oid,
            lambda: self.card_charge(self.charge_key(oid, record), o["card"], amount),
            {"amount": amount},
        )
        nxt = "ready" if o["state"] == "reserved" else "priced"
        self.move(o, nxt, {"price": amount})

    def reserve(self, d: dict[str, Any], record: dict[str, Any]) -> None:
        oid = d["order_id"]
        o = self.order(oid)
        if o is None:
            raise NotYet(oid)
        if o.get("reserved"):
            self.republish(o)
            return
        self.take_stock(oid, o["sku"], o["qty"])
        self.move(o, self.after_reserving(o), {"reserved": True})

    def after_reserving(self, o: Item) -> str:
        return "ready" if o["state"] == "priced" else "reserved"

    def take_stock(self, oid: str, sku: str, qty: int) -> None:
        """Hold ``qty`` units of ``sku`` for ``oid``, once."""
        r = self.ddb.get_item(TableName=self.res.stock_table, Key={"pk": {"S": sku}}, ConsistentRead=True)
        s = {k: _value(v) for k, v in r["Item"].items()}
        if oid in s.get("holds", set()):
            return
        try:
            self.ddb.update_item(
                TableName=self.res.stock_table,
                Key={"pk": {"S": sku}},
                UpdateExpression="SET available = :left, rev = :rev ADD holds :oid",
                ConditionExpression="rev = :expected_rev",
                ExpressionAttributeValues={
                    ":left": _av(s["available"] - qty),
                    ":rev": _av(s["rev"] + 1),
                    ":expected_rev": _av(s["rev"]),
                    ":oid": {"SS": [oid]},
                },
            )
        except self.ddb.exceptions.ConditionalCheckFailedException:
            raise Conflict(sku) from None

    def charge_key(self, oid: str, record: dict[str, Any]) -> str | None:
        """The idempotency key the card provider deduplicates charges by."""
        return f"charge:{oid}"

    def card_charge(self, key: str | None, card: str, amount: int) -> bool:
        """The card provider's API: charge ``amount`` to ``card`` unless a charge
        with idempotency key ``key`` was made already (then False). Without a
        key every call charges."""
        try:
            self.ddb.put_item(
                TableName=self.res.payments_table,
                Item={"pk": {"S": key or f"charge:{self.ids()}"}, "card": _av(card), "amount": _av(amount)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish(self, d: dict[str, Any], record: dict[str, Any]) -> None:
        o = self.order(d["order_id"])
        if o is not None and o["state"] == "ready":
            self.move(o, "done", {})

    # -- the order item ---------------------------------------------------------------------

    def order(self, oid: str) -> Item | None:
        r = self.ddb.get_item(TableName=self.res.orders_table, Key={"pk": {"S": oid}}, ConsistentRead=True)
        return {k: _value(v) for k, v in r["Item"].items()} if "Item" in r else None

    def move(self, o: Item, to: str, sets: dict[str, Any]) -> None:
        """Move order ``o`` (as read) to ``to``, setting ``sets``, if nobody wrote
        it since (else :class:`Conflict`: the record is retried); record the
        transition and publish what follows from it."""
        try:
            self.write(o, to, sets)
        except self.ddb.exceptions.ConditionalCheckFailedException:
            raise Conflict(o["pk"]) from None
        self.effects.note("state.transition", o["pk"], {"from": o["state"], "to": to})
        self.republish({**o, **sets, "state": to})

    def write(self, o: Item, to: str, sets: dict[str, Any]) -> None:
        names = {f"#a{i}": k for i, k in enumerate(sets)}
        values = {f":a{i}": _av(v) for i, v in enumerate(sets.values())}
        assign = [f"#a{i} = :a{i}" for i in range(len(sets))]
        self.ddb.update_item(
            TableName=self.res.orders_table,
            Key={"pk": {"S": o["pk"]}},
            UpdateExpression="SET " + ", ".join([*assign, "#s = :to", "rev = :rev"]),
            ConditionExpression="rev = :expected_rev",
            ExpressionAttributeNames={**names, "#s": "state"},
            ExpressionAttributeValues={
                **values,
                ":to": _av(to),
                ":rev": _av(o["rev"] + 1),
                ":expected_rev": _av(o["rev"]),
            },
        )

    def republish(self, o: Item) -> None:
        """The event a state leads to (again, if it was lost before)."""
        if o["state"] == "ready":
            self.publish("OrderReady", o["pk"])

    def publish(self, detail_type: str, oid: str) -> None:
        self.events.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps({"order_id": oid}),
                    "EventBusName": self.res.bus,
                }
            ]
        )


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    """The detail of the EventBridge event a rule delivered to the queue."""
    return dict(event["detail"])
