"""How requests reach the supervisor: clients send ``BriefRequest`` messages
to the requests queue; the supervisor's intake takes them off it."""

from __future__ import annotations

from typing import Any

from reference_system import bus
from reference_system.messages import BriefRequest
from reference_system.resources import Resources
from reference_system.supervisor import Supervisor


def submit(session: Any, resources: Resources, request: BriefRequest) -> str:
    """Send ``request`` to the requests queue, as a client does; returns its task id."""
    bus.send(session.client("sqs"), resources.queue("requests"), request, f"request:{request.request_id}")
    return request.request_id


class Intake:
    """Takes requests off the requests queue and submits them (idempotently).

    A submit that fails half-way may have created the task without queueing
    it for dispatch (and a repeated submit finds it exists), so after a failed
    submit the supervisor adopts unfinished tasks from the table, as after a
    restart."""

    def __init__(self, sup: Supervisor, session: Any, queue_url: str) -> None:
        self.sup, self.queue_url = sup, queue_url
        self.sqs = session.client("sqs")
        self._adopt = False

    def step(self) -> bool:
        if self._adopt:
            self.sup.recover()
            self._adopt = False
        msgs = bus.receive(self.sqs, self.queue_url, 10, 0)
        for raw in msgs:
            try:
                req = bus.parse(raw, BriefRequest)
            except bus.BadMessage as e:
                self.sup.effects.note(
                    "supervisor.reject", None, {"reason": str(e)}, failed=True, error="BadMessage"
                )
            else:
                try:
                    self.sup.submit(req)
                except Exception:
                    self._adopt = True  # the message stays: it is received again
                    raise
            bus.delete(self.sqs, self.queue_url, raw)
        return bool(msgs)


class SupervisorAgent:
    """The supervisor with its intake: one agent, one step for both.

    Work in hand comes first: a busy supervisor takes in new requests every
    ``INTAKE_EVERY`` steps, an idle one on every step (so an idle
    supervisor's step always looks at the requests queue, and a request
    sent while it waits wakes it)."""

    INTAKE_EVERY = 8

    def __init__(self, sup: Supervisor, intake: Intake | None) -> None:
        self.supervisor, self.intake = sup, intake
        self._steps = 0

    def step(self) -> bool:
        self._steps += 1
        did = self.supervisor.step()
        due = self.intake is not None and (not did or self._steps % self.INTAKE_EVERY == 0)
        if due and self.intake is not None and self.intake.step():
            if not did:
                self.supervisor.step()  # an idle supervisor goes on with what it took in
            did = True
        return did

    def next_wake(self) -> float | None:
        return self.supervisor.next_wake()

    @property
    def effects(self) -> Any:
        return self.supervisor.effects
