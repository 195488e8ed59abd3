"""Findings: what a verification agent says about another agent's output.

A finding is recorded as an operation in the history (an ``invoke`` and its
``ok`` at once, like any other declared event), so checkers, reports and
replays see it in the same place as everything else:

    f = "audit.finding", key = the subject (a subtask id, an effect key),
    value = {"auditor", "severity", "kind", "message", "task_id",
             "witnesses", "details"}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from harness.history.model import INVOKE, OK, Op

FINDING: Final = "audit.finding"

ERROR: Final = "error"
WARNING: Final = "warning"
INFO: Final = "info"
SEVERITIES: Final = (ERROR, WARNING, INFO)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing an auditor found. ``witnesses`` are indices of the history
    operations that show it (the audited output, the effects repeated, ...)."""

    auditor: str
    kind: str
    message: str
    severity: str = ERROR
    subject: Any = None
    task_id: str | None = None
    witnesses: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")

    def to_value(self) -> dict[str, Any]:
        """The ``value`` of the finding's history operation."""
        v: dict[str, Any] = {
            "auditor": self.auditor,
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
        }
        if self.task_id is not None:
            v["task_id"] = self.task_id
        if self.witnesses:
            v["witnesses"] = list(self.witnesses)
        if self.details:
            v["details"] = dict(self.details)
        return v

    @classmethod
    def from_op(cls, op: Op) -> Finding:
        """The finding an ``audit.finding`` operation carries; ValueError if malformed."""
        v = op.value
        if not isinstance(v, dict) or not isinstance(v.get("kind"), str):
            raise ValueError(f"op {op.index}: an {FINDING} needs a value with a kind")
        sev = v.get("severity", ERROR)
        return cls(
            auditor=str(v.get("auditor", "?")),
            kind=v["kind"],
            message=str(v.get("message", "")),
            severity=sev if sev in SEVERITIES else ERROR,
            subject=op.key,
            task_id=v.get("task_id"),
            witnesses=tuple(i for i in v.get("witnesses", ()) if isinstance(i, int)),
            details=v.get("details") or {},
        )


def record_finding(
    recorder: Any, finding: Finding, *, process: str = "auditor", correlation_id: str | None = None
) -> Op:
    """Record ``finding`` as an operation pair; returns the ``ok`` operation."""
    value = finding.to_value()
    recorder.record(
        process, INVOKE, FINDING, finding.subject, value, correlation_id=correlation_id, agent=process
    )
    return recorder.record(
        process, OK, FINDING, finding.subject, value, correlation_id=correlation_id, agent=process
    )


def findings_in(ops: Iterable[Op]) -> Iterator[tuple[Op, Finding]]:
    """Every finding recorded in a history, with its ``ok`` operation."""
    for op in ops:
        if op.f == FINDING and op.type == OK:
            try:
                yield op, Finding.from_op(op)
            except ValueError:
                continue


__all__ = ["ERROR", "FINDING", "INFO", "SEVERITIES", "WARNING", "Finding", "findings_in", "record_finding"]
