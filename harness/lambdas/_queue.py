"""What both triggers share: the queue they poll, and the function they invoke."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from harness.lambdas.events import queue_arn_parts
from harness.lambdas.invoke import Function, Handler, LambdaFaults


class QueuePoller:
    """A queue, found lazily (its ARN and visibility timeout), and a function."""

    def __init__(
        self,
        handler: Handler,
        session: Any,
        queue_url: str,
        *,
        timeout: float,
        memory_mb: int,
        clock: Callable[[], float] | None,
        ids: Callable[[], str] | None,
        function_name: str | None,
        faults: LambdaFaults | None,
    ) -> None:
        self.session = session
        self.queue_url = queue_url
        self.clock: Callable[[], float] = clock or time.monotonic
        self.sqs = session.client("sqs")
        name = function_name or str(getattr(session, "agent", None) or queue_url.rsplit("/", 1)[-1])
        self.function = Function(
            handler,
            session,
            name,
            timeout=timeout,
            memory_mb=memory_mb,
            clock=self.clock,
            ids=ids or (lambda: str(uuid.uuid4())),
            faults=faults or LambdaFaults(),
        )
        self.queue_arn = ""
        self.visibility_timeout = 30.0
        #: Nothing new starts before this instant (a timed-out invocation
        #: holds its execution environment until its deadline).
        self.busy_until = float("-inf")

    @property
    def function_name(self) -> str:
        return self.function.name

    def ensure_queue(self) -> None:
        if self.queue_arn:
            return
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
        )["Attributes"]
        self.queue_arn = attrs["QueueArn"]
        self.visibility_timeout = float(attrs.get("VisibilityTimeout", 30))
        region, account, _ = queue_arn_parts(self.queue_arn)
        self.function.region, self.function.account = region, account

    def receive(self, n: int) -> list[dict[str, Any]]:
        """One ReceiveMessage of up to ``n`` (at most 10) messages, no long poll."""
        out = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, n)),
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(out.get("Messages") or [])

    def delete(self, messages: list[dict[str, Any]]) -> None:
        """Delete each message (one DeleteMessage apiece, so the history names
        each deleted message; Lambda uses DeleteMessageBatch to the same effect)."""
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
