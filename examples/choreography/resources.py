"""The choreography's AWS resources and ``deploy``: tables, queues, an
EventBridge bus and the rules that route its events to the handlers' queues
(moto cannot run Lambda code, so each rule targets the SQS queue the
handler's event source mapping reads)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: Units in stock per SKU when deployed, and the price of one unit.
STOCK: dict[str, int] = {"apple": 1000, "pear": 1000}
PRICES: dict[str, int] = {"apple": 3, "pear": 5}

#: Which events reach which handlers' queues (rule name -> detail type, queues).
ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "placed": ("OrderPlaced", ("pricing", "stock")),
    "ready": ("OrderReady", ("fulfil",)),
}
SOURCE = "shop.orders"


@dataclass(frozen=True)
class Resources:
    prefix: str
    orders_table: str
    stock_table: str
    #: The card provider's ledger of idempotency keys (stands in for its API).
    payments_table: str
    bus: str
    #: Logical name (orders, pricing, stock, fulfil) -> queue URL.
    queues: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Resources:
        return cls(**json.loads(text))


def _table(ddb: Any, name: str) -> None:
    try:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ddb.exceptions.ResourceInUseException:
        return
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def deploy(session: Any, prefix: str = "shop", *, visibility_timeout: int = 30) -> Resources:
    """Create (or find) everything; the stock items start at ``STOCK``, rev 1."""
    ddb, sqs, events = session.client("dynamodb"), session.client("sqs"), session.client("events")
    res = Resources(prefix, f"{prefix}-orders", f"{prefix}-stock", f"{prefix}-payments", f"{prefix}-bus")
    for t in (res.orders_table, res.stock_table, res.payments_table):
        _table(ddb, t)
    for sku, n in STOCK.items():
        with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(
                TableName=res.stock_table,
                Item={"pk": {"S": sku}, "available": {"N": str(n)}, "rev": {"N": "1"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
    vis = {"VisibilityTimeout": str(visibility_timeout)}
    for name in ("orders", "pricing", "stock", "fulfil"):
        res.queues[name] = sqs.create_queue(QueueName=f"{prefix}-{name}", Attributes=vis)["QueueUrl"]
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=res.bus)
    for rule, (detail_type, targets) in ROUTES.items():
        name = f"{prefix}-{rule}"
        events.put_rule(
            Name=name,
            EventBusName=res.bus,
            EventPattern=json.dumps({"source": [SOURCE], "detail-type": [detail_type]}),
        )
        arns = [
            sqs.get_queue_attributes(QueueUrl=res.queues[q], AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            for q in targets
        ]
        events.put_targets(
            Rule=name,
            EventBusName=res.bus,
            Targets=[{"Id": q, "Arn": arn} for q, arn in zip(targets, arns, strict=True)],
        )
    return res


def task_states(session: Any, res: Resources) -> dict[str, str]:
    """Every order's state, read consistently."""
    ddb = session.client("dynamodb")
    out: dict[str, str] = {}
    kw: dict[str, Any] = {"TableName": res.orders_table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for it in page.get("Items", []):
            out[it["pk"]["S"]] = it["state"]["S"]
        if "LastEvaluatedKey" not in page:
            return out
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
