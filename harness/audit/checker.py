"""The findings checker: a run fails on any finding of severity ``error``.

Each finding becomes an anomaly witnessed by its own operation and the
operations it names; warnings are reported without failing the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.audit.findings import ERROR, FINDING, INFO, Finding
from harness.checkers.base import Handler, run_checker
from harness.checkers.verdict import VIOLATION, WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import OK, Op

NAME = "findings"


class FindingsChecker:
    """Streaming: reads ``audit.finding`` operations only."""

    name = NAME

    def __init__(self, *, fail_on: Iterable[str] = (ERROR,), max_anomalies: int = 1000) -> None:
        self.fail_on = frozenset(fail_on)
        self.log = AnomalyLog(max_anomalies)
        self.by_auditor: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.malformed = 0

    def handler(self, f: str) -> Handler | None:
        return self._on_finding if f == FINDING else None

    def _on_finding(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        try:
            fnd = Finding.from_op(op)
        except ValueError:
            self.malformed += 1
            return
        self.by_auditor[fnd.auditor] += 1
        self.by_severity[fnd.severity] += 1
        if fnd.severity == INFO and INFO not in self.fail_on:
            return
        self.log.add(
            Anomaly(
                kind=f"{fnd.auditor}/{fnd.kind}",
                ops=tuple(sorted({op.index, *fnd.witnesses})),
                message=fnd.message,
                key=fnd.subject,
                severity=VIOLATION if fnd.severity in self.fail_on else WARNING,
                details={"auditor": fnd.auditor, "severity": fnd.severity, **dict(fnd.details)},
            )
        )

    def finish(self) -> Verdict:
        stats: dict[str, Any] = {
            "findings": sum(self.by_severity.values()),
            "by_severity": dict(sorted(self.by_severity.items())),
            "by_auditor": dict(sorted(self.by_auditor.items())),
        }
        if self.malformed:
            stats["malformed"] = self.malformed
        return self.log.verdict(NAME, stats)


def check_findings(history: Iterable[Op], **spec: Any) -> Verdict:
    """Fail on any audit finding of severity ``error`` (``fail_on`` to change)."""
    return run_checker(history, FindingsChecker(**spec))


__all__ = ["NAME", "FindingsChecker", "check_findings"]
