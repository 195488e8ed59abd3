"""Planted bugs in the choreography, each one a bug serverless consumers
ship. Each plugs in through the system's options (``shop_class``: a Shop
subclass by import path; ``report_failures``), as a user's own handlers
would; the property suite must catch every one and pass the correct system
on the same examples (``python -m examples.suite_run examples.choreography.mutants``
prints the table in README.md).
"""

from __future__ import annotations

from typing import Any

from examples.choreography.handlers import Item, Shop, _av
from examples.suite_run import Mutant

SYSTEM = "examples.choreography.system:system"


class BlindWriteShop(Shop):
    """UpdateItem on the order without its condition: pricing and stock read
    the same ``rev`` and both write the next one; the later write undoes the
    earlier one's state, and the order never becomes ready."""

    def write(self, o: Item, to: str, sets: dict[str, Any]) -> None:
        names = {f"#a{i}": k for i, k in enumerate(sets)}
        values = {f":a{i}": _av(v) for i, v in enumerate(sets.values())}
        assign = [f"#a{i} = :a{i}" for i in range(len(sets))]
        self.ddb.update_item(
            TableName=self.res.orders_table,
            Key={"pk": {"S": o["pk"]}},
            UpdateExpression="SET " + ", ".join([*assign, "#s = :to", "rev = :rev"]),
            ExpressionAttributeNames={**names, "#s": "state"},
            ExpressionAttributeValues={**values, ":to": _av(to), ":rev": _av(o["rev"] + 1)},
        )


class UnkeyedChargeShop(Shop):
    """Charges the card without an idempotency key: pricing retried after the
    charge (its order write lost the race with stock, or was throttled)
    charges again."""

    def charge_key(self, oid: str, record: dict[str, Any]) -> str | None:
        return None


class ReceiptKeyChargeShop(Shop):
    """Builds the idempotency key from the delivery (its receipt handle):
    every redelivery of OrderPlaced to pricing is a new key to the provider."""

    def charge_key(self, oid: str, record: dict[str, Any]) -> str | None:
        return f"charge:{oid}:{record['receiptHandle']}"


class InOrderStockShop(Shop):
    """Assumes the pricing handler saw OrderPlaced first (a standard queue
    "usually" keeps order): after reserving it moves the order straight to
    ``ready``, from whatever state it is in."""

    def after_reserving(self, o: Item) -> str:
        return "ready"


class ForgetfulStockShop(Shop):
    """Drops a transition: it reserves the stock of a priced order but leaves
    the order ``priced`` (it only moves orders still ``placed``), so nobody
    ever makes it ready."""

    def after_reserving(self, o: Item) -> str:
        return "reserved" if o["state"] == "placed" else o["state"]


def _shop(cls: type) -> dict[str, str]:
    return {"shop_class": f"{__name__}:{cls.__qualname__}"}


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("an UpdateItem without its condition", _shop(BlindWriteShop), "lost-update"),
        Mutant("a side effect without an idempotency key", _shop(UnkeyedChargeShop), "idempotency"),
        Mutant("an effect key that includes the receipt handle", _shop(ReceiptKeyChargeShop), "idempotency"),
        Mutant("a consumer that assumes order on a standard queue", _shop(InOrderStockShop), "ordering"),
        Mutant("a handler that drops a state transition", _shop(ForgetfulStockShop), "liveness"),
        Mutant(
            "partial failures returned to a mapping that ignores them",
            {"report_failures": False},
            "liveness",
        ),
    )
}

__all__ = [
    "MUTANTS",
    "SYSTEM",
    "BlindWriteShop",
    "ForgetfulStockShop",
    "InOrderStockShop",
    "ReceiptKeyChargeShop",
    "UnkeyedChargeShop",
]
