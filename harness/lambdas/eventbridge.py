"""A Lambda function invoked by an EventBridge rule, as a step()-based agent.

moto cannot run the function, so the rule targets an SQS queue of the
system's deployment instead, and this trigger reads the rule's deliveries
from it: each message body is the event JSON, and the handler receives the
event itself (version, id, detail-type, source, account, time, region,
resources, detail), one event per invocation, as Lambda's asynchronous
invocation delivers it.

Failures are retried as asynchronous invocation retries them (see
docs/lambda.md): a function error or a timeout leaves the message in the
queue, hidden for ``retry_delays`` (one minute, then two), for at most
``max_retries`` more attempts (2 by default, 0 to 2 on AWS). An event whose
attempts are used up is discarded, or sent to ``on_failure_queue_url`` (an
on-failure destination or dead-letter queue) and then deleted. A throttled
invocation does not use an attempt: the event is retried after
``throttle_backoff`` seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.instrument.context import CORRELATION_ATTR
from harness.lambdas._queue import QueuePoller
from harness.lambdas.events import eventbridge_event
from harness.lambdas.invoke import Handler, LambdaFaults, Outcome

#: Lambda's waits between asynchronous attempts (seconds).
RETRY_DELAYS = (60.0, 120.0)


class EventTrigger:
    """``handler(event, context)`` run for each event a rule delivers to a queue."""

    def __init__(
        self,
        handler: Handler,
        session: Any,
        queue_url: str,
        *,
        max_retries: int = 2,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        on_failure_queue_url: str | None = None,
        timeout: float = 3.0,
        memory_mb: int = 128,
        clock: Callable[[], float] | None = None,
        ids: Callable[[], str] | None = None,
        function_name: str | None = None,
        faults: LambdaFaults | None = None,
        throttle_backoff: float = 1.0,
    ) -> None:
        if not 0 <= max_retries <= 2:
            raise ValueError("max_retries must be 0, 1 or 2")
        if max_retries and len(retry_delays) < max_retries:
            raise ValueError("retry_delays needs a delay for each retry")
        self.poller = QueuePoller(
            handler,
            session,
            queue_url,
            timeout=timeout,
            memory_mb=memory_mb,
            clock=clock,
            ids=ids,
            function_name=function_name,
            faults=faults,
        )
        self.max_retries = max_retries
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.on_failure_queue_url = on_failure_queue_url
        self.throttle_backoff = throttle_backoff
        #: Throttled receives per message id, which use no attempt (kept in
        #: memory: after a restart a throttled receive counts as an attempt).
        self._throttled: dict[str, int] = {}
        self._held: dict[str, Any] | None = None
        self._held_at = 0.0
        self._ready_at = float("-inf")
        self.last: Outcome | None = None

    @classmethod
    def for_agent(cls, env: Any, handler: Handler, queue_url: str, **kwargs: Any) -> EventTrigger:
        """A trigger built from an :class:`~harness.system.AgentEnv`."""
        kwargs.setdefault("clock", env.clock)
        kwargs.setdefault("ids", env.ids)
        kwargs.setdefault("function_name", env.name)
        return cls(handler, env.session, queue_url, **kwargs)

    @property
    def function_name(self) -> str:
        return self.poller.function_name

    def step(self) -> bool:
        p = self.poller
        p.ensure_queue()
        now = p.clock()
        if now < p.busy_until:
            return False
        if self._held is not None and now >= self._held_at + p.visibility_timeout:
            self._held = None  # held past its visibility timeout: back in the queue
        if self._held is None:
            got = p.receive(1)
            if not got:
                return False
            self._held, self._held_at = got[0], now
        elif now < self._ready_at:
            return False
        f = p.function
        if not f.warm:
            f.warm = True
            if f.faults.cold_start > 0:
                f.note_fault("lambda_cold_start", agent=f.agent, function=f.name, seconds=f.faults.cold_start)
                self._ready_at = now + f.faults.cold_start
                return True
        msg, self._held = self._held, None
        self._invoke(msg)
        return True

    def next_wake(self) -> float | None:
        p = self.poller
        now = p.clock()
        if now < p.busy_until:
            return p.busy_until
        if self._held is not None:
            return max(now, self._ready_at)
        return None

    def _attempt(self, msg: Mapping[str, Any]) -> int:
        count = int((msg.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
        return max(1, count - self._throttled.get(msg["MessageId"], 0))

    def _invoke(self, msg: dict[str, Any]) -> None:
        p = self.poller
        event = eventbridge_event(msg.get("Body", ""))
        if isinstance(event, dict) and "detail-type" in event and "account" not in event:
            # moto leaves the account out of the events it delivers; AWS
            # always sends it (the rule's account, the queue's here).
            event["account"] = p.function.account
        attempt = self._attempt(msg)
        detail = event.get("detail") if isinstance(event, dict) else None
        cid = detail.get(CORRELATION_ATTR) if isinstance(detail, dict) else None
        out = p.function.invoke(
            event,
            value={
                "batch_size": 1,
                "ids": [msg["MessageId"]],
                "event_id": event.get("id") if isinstance(event, dict) else None,
                "attempt": attempt,
            },
            correlation_id=cid if isinstance(cid, str) else None,
        )
        self.last = out
        sqs = p.sqs
        if out.status == "ok":
            self._throttled.pop(msg["MessageId"], None)
            p.delete([msg])
            return
        if out.status == "throttled":
            self._throttled[msg["MessageId"]] = self._throttled.get(msg["MessageId"], 0) + 1
            sqs.change_message_visibility(
                QueueUrl=p.queue_url,
                ReceiptHandle=msg["ReceiptHandle"],
                VisibilityTimeout=int(round(self.throttle_backoff)),
            )
            return
        if out.status == "timeout":
            p.busy_until = max(p.busy_until, out.deadline)
            p.function.reset()
        if attempt <= self.max_retries:
            sqs.change_message_visibility(
                QueueUrl=p.queue_url,
                ReceiptHandle=msg["ReceiptHandle"],
                VisibilityTimeout=int(round(self.retry_delays[attempt - 1])),
            )
            return
        # Attempts used up: to the on-failure destination, if any, then gone.
        self._throttled.pop(msg["MessageId"], None)
        if self.on_failure_queue_url:
            sqs.send_message(
                QueueUrl=self.on_failure_queue_url,
                MessageBody=msg.get("Body", "") if isinstance(event, str) else json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": out.request_id},
                    "ErrorCode": {"DataType": "String", "StringValue": out.error or out.status},
                },
            )
        p.delete([msg])
