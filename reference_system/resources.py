"""The reference system's AWS resources, and ``deploy``: idempotent creation
of every table, queue and topic against any endpoints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

CAPABILITIES: tuple[str, ...] = ("research", "write", "review")

#: Receives before a capability message moves to its dead-letter queue.
MAX_RECEIVE_COUNT = 3


@dataclass
class Resources:
    """Names and addresses of everything ``deploy`` created."""

    prefix: str
    tasks_table: str
    registry_table: str
    idempotency_table: str
    briefs_table: str
    queues: dict[str, str] = field(default_factory=dict)  # logical name -> URL
    topic_arn: str = ""

    def queue(self, name: str) -> str:
        return self.queues[name]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Resources:
        return cls(**json.loads(text))


def names(prefix: str) -> Resources:
    return Resources(
        prefix=prefix,
        tasks_table=f"{prefix}-tasks",
        registry_table=f"{prefix}-registry",
        idempotency_table=f"{prefix}-idempotency",
        briefs_table=f"{prefix}-briefs",
    )


def _table(ddb: Any, name: str, key: str, tags: list[dict[str, str]]) -> None:
    try:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
        )
    except ddb.exceptions.ResourceInUseException:
        return
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def _queue(sqs: Any, name: str, attrs: dict[str, str], tags: dict[str, str]) -> str:
    # CreateQueue is idempotent when the attributes match.
    return sqs.create_queue(QueueName=name, Attributes=attrs, tags=tags)["QueueUrl"]


def deploy(
    session: Any,
    prefix: str = "mas",
    *,
    visibility_timeout: int = 30,
    tags: dict[str, str] | None = None,
    agents: list[dict[str, str]] | None = None,
) -> Resources:
    """Create (or find) every resource; safe to run any number of times."""
    res = names(prefix)
    tag_map = {"harness:system": "reference", "harness:prefix": prefix, **(tags or {})}
    ddb_tags = [{"Key": k, "Value": v} for k, v in tag_map.items()]
    ddb = session.client("dynamodb")
    for table, key in (
        (res.tasks_table, "pk"),
        (res.registry_table, "agent"),
        (res.idempotency_table, "pk"),
        (res.briefs_table, "pk"),
    ):
        _table(ddb, table, key, ddb_tags)

    sqs = session.client("sqs")
    vis = str(visibility_timeout)
    for cap in CAPABILITIES:
        dlq = _queue(sqs, f"{prefix}-{cap}-dlq", {"MessageRetentionPeriod": "1209600"}, tag_map)
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})
        res.queues[f"{cap}-dlq"] = dlq
        res.queues[cap] = _queue(
            sqs, f"{prefix}-{cap}", {"VisibilityTimeout": vis, "RedrivePolicy": redrive}, tag_map
        )
    res.queues["results"] = _queue(sqs, f"{prefix}-results", {"VisibilityTimeout": vis}, tag_map)
    res.queues["progress"] = _queue(
        sqs,
        f"{prefix}-progress.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": vis},
        tag_map,
    )
    res.queues["audit"] = _queue(sqs, f"{prefix}-audit", {"VisibilityTimeout": vis}, tag_map)
    # Where clients send their requests (BriefRequest messages); the supervisor takes them in.
    res.queues["requests"] = _queue(sqs, f"{prefix}-requests", {"VisibilityTimeout": vis}, tag_map)

    sns = session.client("sns")
    res.topic_arn = sns.create_topic(
        Name=f"{prefix}-status", Tags=[{"Key": k, "Value": v} for k, v in tag_map.items()]
    )["TopicArn"]
    audit_arn = sqs.get_queue_attributes(QueueUrl=res.queues["audit"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subs = sns.list_subscriptions_by_topic(TopicArn=res.topic_arn).get("Subscriptions", [])
    if not any(s["Endpoint"] == audit_arn for s in subs):
        sns.subscribe(
            TopicArn=res.topic_arn,
            Protocol="sqs",
            Endpoint=audit_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    from reference_system.registry import Registry

    registry = Registry(ddb, res.registry_table)
    for entry in agents or default_agents(res):
        registry.register(**entry)
    return res


def default_agents(res: Resources) -> list[dict[str, str]]:
    return [
        {"agent": f"{cap}-v1", "capability": cap, "queue": res.queues[cap], "version": "1"}
        for cap in CAPABILITIES
    ]


def task_states(session: Any, res: Resources) -> dict[str, str]:
    """Every task's state, read consistently from the tasks table."""
    ddb = session.client("dynamodb")
    states: dict[str, str] = {}
    kw: dict[str, Any] = {"TableName": res.tasks_table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for it in page.get("Items", []):
            if it.get("kind", {}).get("S") == "task":
                states[it["pk"]["S"]] = it["state"]["S"]
        if "LastEvaluatedKey" not in page:
            return states
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
