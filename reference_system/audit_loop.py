"""The consumer of the audit queue (the status topic's fan-out)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from reference_system import bus
from reference_system.messages import StatusEvent
from reference_system.resources import Resources


class AuditLoop:
    """Reads status events fanned out from SNS and keeps a tally; a place
    for verification agents to hook into live traffic."""

    def __init__(self, session: Any, resources: Resources) -> None:
        self.sqs = session.client("sqs")
        self.queue_url = resources.queue("audit")
        self.events: Counter[str] = Counter()
        self.listeners: list[Any] = []

    def step(self) -> bool:
        msgs = bus.receive(self.sqs, self.queue_url, 10, 0)
        for raw in msgs:
            try:
                ev = bus.parse(raw, StatusEvent)
            except bus.BadMessage:
                self.events["malformed"] += 1
            else:
                self.events[ev.to_state] += 1
                for fn in self.listeners:
                    fn(ev)
            bus.delete(self.sqs, self.queue_url, raw)
        return bool(msgs)
