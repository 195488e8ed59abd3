"""Shared pieces of the Lambda adapter tests: a clock the test moves, seeded
ids, queues, and a way to make in-flight messages visible again at once."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from harness.history.model import Op
from harness.history.recorder import Recorder


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def seeded_ids(prefix: str = "req") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def make_queue(sqs: Any, name: str, **attrs: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def with_dlq(sqs: Any, name: str, max_receive_count: int) -> tuple[str, str]:
    """A queue whose redrive policy moves a message to a new DLQ after
    ``max_receive_count`` receives; returns (queue URL, DLQ URL)."""
    dlq = make_queue(sqs, f"{name}-dlq")
    policy = {"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": str(max_receive_count)}
    return make_queue(sqs, name, RedrivePolicy=json.dumps(policy)), dlq


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    a = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def expire(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    """End the visibility timeout of received messages now (no waiting)."""
    for rh in receipt_handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh, VisibilityTimeout=0)


def invocations(rec: Recorder) -> list[Op]:
    return [o for o in rec.ops if o.f == "lambda.invoke"]


def completions(rec: Recorder) -> list[Op]:
    return [o for o in invocations(rec) if o.type != "invoke"]
