"""Long polls, simulated: an idle agent sleeps until a queue it polls changes.

A real SQS consumer long-polls: its ReceiveMessage waits (up to 20 s) and
returns as soon as a message arrives. Polling an empty queue again and again
would cost the simulator a full moto call each time and change nothing. So
the simulator watches every call: which queues each agent received from in
its current step, and which queues were written to (a send, a visibility
change; an SNS publish may fan out to any queue). An agent whose step found
nothing to do is woken when one of the queues it polled changes, or else when
its back-off timer runs out, which stands in for the long poll's timeout and
covers what no call announces (a visibility timeout running out, a message
redriven to a dead-letter queue, a supervisor's own timers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

#: SQS calls that can make a message visible on the queue they name.
SQS_WRITES = frozenset(
    {"SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
)

#: On a FIFO queue, deleting a message frees the next one of its group.
FIFO_FREES = frozenset({"DeleteMessage", "DeleteMessageBatch"})


@dataclass(frozen=True)
class Parked:
    """What an idle agent saw when it went to sleep."""

    queues: dict[str, int]  # queue URL -> its change count then
    fanout: int  # SNS publishes (and other changes to any queue) then


class Wakeups:
    """An interceptor that tracks polled and changed queues (see the module doc)."""

    def __init__(self, subscriptions: dict[str, set[str]] | None = None) -> None:
        #: topic ARN -> URLs of the queues subscribed to it; a publish to a
        #: topic not listed may reach any queue.
        self.subscriptions = subscriptions or {}
        self._changes: dict[str, int] = defaultdict(int)
        self._fanout = 0
        self._polled: dict[str, set[str]] = defaultdict(set)
        #: Every queue some agent has received from (the queues someone reads).
        self.polled_ever: set[str] = set()

    def intercept(self, call: Any, proceed: Callable[[], Any]) -> Any:
        try:
            return proceed()
        finally:  # a call that failed may still have been applied (a lost ack)
            self._saw(call.agent, call.service, call.operation, call.params)

    def _saw(self, agent: str, service: str, operation: str, params: dict[str, Any]) -> None:
        if service == "sqs":
            url = params.get("QueueUrl")
            if not isinstance(url, str):
                return
            if operation == "ReceiveMessage":
                self._polled[agent].add(url)
                self.polled_ever.add(url)
            elif operation in SQS_WRITES or (operation in FIFO_FREES and url.endswith(".fifo")):
                self._changes[url] += 1
        elif service == "events" and operation == "PutEvents":
            self._fanout += 1  # a rule may deliver the event to any queue
        elif service == "sns" and operation.startswith("Publish"):
            queues = self.subscriptions.get(str(params.get("TopicArn")))
            if queues is None:
                self._fanout += 1
            for url in queues or ():
                self._changes[url] += 1

    def changed_anywhere(self) -> None:
        """Something wrote to queues behind the agents' backs (a driver's duplicate)."""
        self._fanout += 1

    def begin_step(self, agent: str) -> None:
        self._polled.pop(agent, None)

    def park(self, agent: str) -> Parked:
        """The agent's step found nothing: remember what it polled and how things stood."""
        return Parked({u: self._changes[u] for u in self._polled.get(agent, ())}, self._fanout)

    def woken(self, parked: Parked, pending: Collection[str] = ()) -> bool:
        """Has anything it polls changed since it parked? ``pending``: names
        of queues on which something waits outside SQS for the next receive
        (messages the fault injector holds back or duplicates)."""
        if self._fanout != parked.fanout:
            return True
        return any(self._changes[u] != n or u.rsplit("/", 1)[-1] in pending for u, n in parked.queues.items())


def sqs_subscriptions(session: Any) -> dict[str, set[str]]:
    """Every SNS topic's subscribed SQS queues (as queue URLs), read once."""
    sns, sqs = session.client("sns"), session.client("sqs")
    out: dict[str, set[str]] = {}
    for page in sns.get_paginator("list_subscriptions").paginate():
        for sub in page.get("Subscriptions", []):
            queues = out.setdefault(sub["TopicArn"], set())
            if sub.get("Protocol") == "sqs":
                name = sub["Endpoint"].rsplit(":", 1)[-1]
                queues.add(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return out
