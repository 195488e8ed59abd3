"""Planted bugs in the counter system, each one a bug real queue consumers
ship. Each plugs in through the system's options (``intake_class``,
``counter_class``: import paths), as a user's own agent would; the property
suite must catch every one and pass the correct system on the same examples
(``python -m examples.suite_run examples.counter.mutants`` prints the table
in README.md).
"""

from __future__ import annotations

from typing import Any

from examples.counter.agents import Counter, Intake, move
from examples.suite_run import Mutant

SYSTEM = "examples.counter.system:system"


class BlindCounter(Counter):
    """Read-modify-write with the condition left out ("we only have one
    counter agent"): it still writes the next version, but two counters that
    read the same version both write it, and one increment is lost."""

    def write(self, counter: str, expected: int, total: int, key: str, rid: str) -> None:
        self.ddb.update_item(
            TableName=self.res.counters_table,
            Key={"pk": {"S": counter}},
            UpdateExpression="SET #t = :total, #l = :last, version = :version ADD #a :key",
            ExpressionAttributeNames={"#t": "total", "#a": "applied", "#l": "last"},
            ExpressionAttributeValues={
                ":total": {"N": str(total)},
                ":last": {"S": rid},
                ":version": {"N": str(expected + 1)},
                ":key": {"SS": [key]},
            },
        )


class SilentRejectIntake(Intake):
    """Drops an invalid request without recording its end: the message is
    deleted, the task stays ``received`` for ever."""

    def _reject(self, rid: str) -> None:
        return None


class ResettingIntake(Intake):
    """Records the task with an unconditional PutItem ("the request is the
    same, so writing it again is harmless"): a redelivered request puts a
    task that has moved on back to ``received``, and it moves again."""

    def _create(self, req: dict[str, Any]) -> None:
        self.ddb.put_item(
            TableName=self.res.tasks_table,
            Item={"pk": {"S": req["request_id"]}, "state": {"S": "received"}},
        )


class ReceiptKeyCounter(Counter):
    """Keys the increment by the delivery (its receipt handle) rather than the
    request: every redelivery is a new key, and is applied again."""

    def dedup_key(self, req: dict[str, Any], raw: dict[str, Any]) -> str:
        return f"{req['request_id']}:{raw['ReceiptHandle']}"


class RemarkingCounter(Counter):
    """Marks the task counted with a blind write on every delivery and records
    the transition each time: a redelivered increment moves the task from
    ``received`` again although it already left it."""

    def mark_counted(self, rid: str) -> None:
        self.ddb.update_item(
            TableName=self.res.tasks_table,
            Key={"pk": {"S": rid}},
            UpdateExpression="SET #s = :to",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":to": {"S": "counted"}},
        )
        self.effects.note("state.transition", rid, {"from": "received", "to": "counted"})


class ForwardFirstIntake(Intake):
    """Forwards the increment before it records the task, assuming the
    counter is slower than its own next write: a quick counter finds no
    task to mark, and the task, created afterwards, stays ``received``."""

    def take(self, req: dict[str, Any]) -> None:
        from examples.counter.agents import valid

        if valid(req):
            self._forward(req)
            self._create(req)
        else:
            self._create(req)
            if move(self.ddb, self.res.tasks_table, req["request_id"], "received", "rejected"):
                self.effects.note(
                    "state.transition", req["request_id"], {"from": "received", "to": "rejected"}
                )


def _opt(key: str, cls: type) -> dict[str, str]:
    return {key: f"{__name__}:{cls.__qualname__}"}


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("an UpdateItem without its condition", _opt("counter_class", BlindCounter), "lost-update"),
        Mutant(
            "a handler that drops a state transition", _opt("intake_class", SilentRejectIntake), "liveness"
        ),
        Mutant(
            "a create without its condition (a redelivery resets the task)",
            _opt("intake_class", ResettingIntake),
            "ordering",
        ),
        Mutant(
            "an effect key that includes the receipt handle",
            _opt("counter_class", ReceiptKeyCounter),
            "idempotency",
        ),
        Mutant(
            "a blind state write recorded on every redelivery",
            _opt("counter_class", RemarkingCounter),
            "ordering",
        ),
        Mutant(
            "forwarding work before the record it needs is written",
            _opt("intake_class", ForwardFirstIntake),
            "liveness",
        ),
    )
}

__all__ = [
    "MUTANTS",
    "SYSTEM",
    "BlindCounter",
    "ForwardFirstIntake",
    "ReceiptKeyCounter",
    "RemarkingCounter",
    "ResettingIntake",
    "SilentRejectIntake",
]
