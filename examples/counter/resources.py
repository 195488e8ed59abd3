"""The counter system's AWS resources and ``deploy``: idempotent creation of
its two tables and three queues against any endpoints."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from typing import Any

#: The counters a request may name.
COUNTERS: tuple[str, ...] = ("hits", "misses")


@dataclass(frozen=True)
class Resources:
    """Names and addresses of everything ``deploy`` made."""

    prefix: str
    tasks_table: str
    counters_table: str
    #: Where clients send increment requests (standard queue).
    requests_url: str
    #: Intake -> counters (standard queue: duplicates, any order).
    increments_url: str
    #: Counters -> intake, one message group per counter (FIFO).
    notices_url: str

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


def deploy(session: Any, prefix: str = "counter", *, visibility_timeout: int = 30) -> Resources:
    """Create (or find) every table and queue, and each counter at version 0."""
    ddb, sqs = session.client("dynamodb"), session.client("sqs")
    tasks, counters = f"{prefix}-tasks", f"{prefix}-counters"
    for t in (tasks, counters):
        _table(ddb, t)
    for c in COUNTERS:
        with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(
                TableName=counters,
                Item={"pk": {"S": c}, "total": {"N": "0"}, "version": {"N": "0"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
    vis = {"VisibilityTimeout": str(visibility_timeout)}

    def queue(name: str, attrs: dict[str, str]) -> str:
        return str(sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])

    return Resources(
        prefix=prefix,
        tasks_table=tasks,
        counters_table=counters,
        requests_url=queue(f"{prefix}-requests", vis),
        increments_url=queue(f"{prefix}-increments", vis),
        notices_url=queue(
            f"{prefix}-notices.fifo", {**vis, "FifoQueue": "true", "ContentBasedDeduplication": "false"}
        ),
    )


def undeploy(session: Any, res: Resources) -> None:
    ddb, sqs = session.client("dynamodb"), session.client("sqs")
    for url in (res.requests_url, res.increments_url, res.notices_url):
        sqs.delete_queue(QueueUrl=url)
    for t in (res.tasks_table, res.counters_table):
        ddb.delete_table(TableName=t)


def task_states(session: Any, res: Resources) -> dict[str, str]:
    """Every task's state, read consistently from the tasks table."""
    ddb = session.client("dynamodb")
    out: dict[str, str] = {}
    kw: dict[str, Any] = {"TableName": res.tasks_table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for it in page.get("Items", []):
            out[it["pk"]["S"]] = it["state"]["S"]
        if "LastEvaluatedKey" not in page:
            return out
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
