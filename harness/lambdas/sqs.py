"""A Lambda function behind an SQS event source mapping, as a step()-based agent.

See docs/lambda.md for the AWS behaviour each rule rests on ("Using Lambda
with Amazon SQS", "Handling errors for an SQS event source", "Reporting
batch item failures"). In short, one step:

1. receives up to ``batch_size`` messages (one ReceiveMessage of at most 10,
   no long poll). With a batching window the batch is gathered over several
   steps, one receive each, until it is full or the window (counted from
   its first message) has closed;
2. invokes the handler with the batch as Lambda's SQS event;
3. on success deletes the batch; with ``report_batch_item_failures`` and a
   valid partial batch response, deletes all but the reported messages; on
   a function error, a timeout, an invalid response or a lost response,
   deletes nothing: the messages come back after the queue's visibility
   timeout, and the queue's redrive policy (enforced by SQS) moves them to
   its dead-letter queue after maxReceiveCount receives;
4. a throttled invocation keeps the batch and tries again after
   ``throttle_backoff`` seconds, until the messages' visibility timeout
   runs out; then it lets them go (they are back in the queue).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.instrument.context import CORRELATION_ATTR
from harness.lambdas._queue import QueuePoller
from harness.lambdas.events import batch_item_failures, correlation_of_records, sqs_event
from harness.lambdas.invoke import Handler, LambdaFaults, Outcome

#: Lambda's limits on an SQS event source mapping's batch size.
MAX_BATCH = 10_000
MAX_BATCH_FIFO = 10
MAX_WINDOW = 300.0


class SqsTrigger:
    """``handler(event, context)`` run by an SQS event source mapping."""

    def __init__(
        self,
        handler: Handler,
        session: Any,
        queue_url: str,
        *,
        batch_size: int = 10,
        batching_window: float = 0.0,
        report_batch_item_failures: bool = False,
        timeout: float = 3.0,
        memory_mb: int = 128,
        clock: Callable[[], float] | None = None,
        ids: Callable[[], str] | None = None,
        function_name: str | None = None,
        faults: LambdaFaults | None = None,
        throttle_backoff: float = 1.0,
    ) -> None:
        fifo = queue_url.endswith(".fifo")
        limit = MAX_BATCH_FIFO if fifo else MAX_BATCH
        if not 1 <= batch_size <= limit:
            raise ValueError(f"batch_size must be between 1 and {limit}")
        if not 0 <= batching_window <= MAX_WINDOW:
            raise ValueError(f"batching_window must be between 0 and {MAX_WINDOW:.0f} seconds")
        if batch_size > 10 and batching_window < 1:
            raise ValueError("a batch_size over 10 needs a batching_window of at least 1 second")
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
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.report_batch_item_failures = report_batch_item_failures
        self.throttle_backoff = throttle_backoff
        #: The batch being gathered or waiting to be invoked, and when its
        #: first message was received.
        self.batch: list[dict[str, Any]] = []
        self._first_at = 0.0
        #: The batch is not invoked before this instant (cold start, backoff).
        self._ready_at = float("-inf")
        self.last: Outcome | None = None

    @classmethod
    def for_agent(cls, env: Any, handler: Handler, queue_url: str, **kwargs: Any) -> SqsTrigger:
        """A trigger built from an :class:`~harness.system.AgentEnv`: its
        session, clock and ids, the agent's name as the function name."""
        kwargs.setdefault("clock", env.clock)
        kwargs.setdefault("ids", env.ids)
        kwargs.setdefault("function_name", env.name)
        return cls(handler, env.session, queue_url, **kwargs)

    @property
    def function_name(self) -> str:
        return self.poller.function_name

    @property
    def queue_url(self) -> str:
        return self.poller.queue_url

    # -- the agent protocol -----------------------------------------------------------

    def step(self) -> bool:
        p = self.poller
        p.ensure_queue()
        now = p.clock()
        if now < p.busy_until:
            return False
        if self.batch and now >= self._first_at + p.visibility_timeout:
            # Held past the visibility timeout (throttled, or a long cold
            # start): the messages are back in the queue; let them go.
            self.batch = []
        received = False
        if len(self.batch) < self.batch_size and (not self.batch or self._window_open(now)):
            got = p.receive(self.batch_size - len(self.batch))
            if got:
                received = True
                if not self.batch:
                    self._first_at = now
                self.batch.extend(got)
        if not self.batch:
            return received
        if len(self.batch) < self.batch_size and self._window_open(now):
            return received  # wait for more
        if now < self._ready_at:
            return received
        f = p.function
        if not f.warm:
            f.warm = True
            if f.faults.cold_start > 0:
                f.note_fault("lambda_cold_start", agent=f.agent, function=f.name, seconds=f.faults.cold_start)
                self._ready_at = now + f.faults.cold_start
                return True
        self._invoke()
        return True

    def next_wake(self) -> float | None:
        p = self.poller
        now = p.clock()
        if now < p.busy_until:
            return p.busy_until
        if not self.batch:
            return None
        at = self._ready_at
        if len(self.batch) < self.batch_size:
            at = max(at, self._first_at + self.batching_window)
        return max(at, now) if at > float("-inf") else now

    # -- internals ----------------------------------------------------------------------

    def _window_open(self, now: float) -> bool:
        return self.batching_window > 0 and now < self._first_at + self.batching_window

    def _invoke(self) -> None:
        p = self.poller
        batch = self.batch
        event = sqs_event(batch, queue_arn=p.queue_arn)
        records = event["Records"]
        ids = [r["messageId"] for r in records]
        judge = None
        if self.report_batch_item_failures:
            judge = lambda response: batch_item_failures(response, ids)  # noqa: E731
        out = p.function.invoke(
            event,
            value={"batch_size": len(records), "ids": ids, "queue": p.queue_url.rsplit("/", 1)[-1]},
            correlation_id=correlation_of_records(records, CORRELATION_ATTR),
            judge=judge,
        )
        self.last = out
        if out.status == "throttled":
            self._ready_at = p.clock() + self.throttle_backoff
            return
        self.batch = []
        self._ready_at = float("-inf")
        if out.status == "timeout":
            # The environment is busy until the runtime would have stopped
            # the handler, and is then thrown away.
            p.busy_until = max(p.busy_until, out.deadline)
            p.function.reset()
        if out.status == "ok":
            p.delete([m for m in batch if m["MessageId"] not in out.failed])
