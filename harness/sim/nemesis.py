"""Faults made by hand, one at a time, by whoever drives a :class:`Simulation`
(a stateful test, a person at a prompt): crash an agent at its next calls,
deliver a message again. A fault plan decides its faults up front; these are
decided step by step. Each is recorded like the plan's, as an ``info``
operation of process ``nemesis``."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from harness.faults.injector import NEMESIS, AgentCrash
from harness.history.model import INFO
from harness.history.recorder import Recorder
from harness.instrument.session import Call, HttpAndParsed


class Nemesis:
    """An interceptor on every agent's session (innermost, next to the call)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        #: agent -> calls left before it crashes (after the last one applied)
        self.armed: dict[str, int] = {}
        #: queue URL -> the last messages delivered from it
        self.delivered: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=16))
        self.injected = 0

    def record(self, kind: str, key: str, **value: Any) -> None:
        self.injected += 1
        self.recorder.record(NEMESIS, INFO, f"fault.{kind}", key, value or None)

    def arm_crash(self, agent: str, after_calls: int) -> None:
        self.armed[agent] = max(1, after_calls)

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed:
        out = proceed()
        if call.service == "sqs" and call.operation == "ReceiveMessage":
            url = call.params.get("QueueUrl", "")
            for m in out[1].get("Messages", []) or []:
                self.delivered[url].append(
                    {"Body": m.get("Body", ""), "MessageAttributes": m.get("MessageAttributes") or {}}
                )
        left = self.armed.get(call.agent)
        if left is not None:
            if left <= 1:
                del self.armed[call.agent]
                where = f"{call.agent}:{call.service}.{call.operation}"
                self.record("crash", where, agent=call.agent, by="nemesis")
                raise AgentCrash(call.agent)
            self.armed[call.agent] = left - 1
        return out

    def last_delivered(self, queue_url: str, back: int = 0) -> dict[str, Any] | None:
        """The ``back``-th most recent message delivered from ``queue_url`` (wrapping)."""
        msgs = self.delivered.get(queue_url)
        if not msgs:
            return None
        return msgs[-1 - (back % len(msgs))]


def resend_params(queue_url: str, msg: dict[str, Any]) -> dict[str, Any]:
    """SendMessage parameters for a copy of a received message (same body and attributes)."""
    attrs = {
        k: {"DataType": v.get("DataType", "String"), "StringValue": v.get("StringValue", "")}
        for k, v in msg["MessageAttributes"].items()
        if "StringValue" in v
    }
    return {"QueueUrl": queue_url, "MessageBody": msg["Body"], "MessageAttributes": attrs}
