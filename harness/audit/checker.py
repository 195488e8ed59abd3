"""The findings checker: a run fails on any finding of severity ``error``.

It reads the findings a history holds (``audit.finding`` operations, from a
live audit or an earlier ``harness audit``). A history with none is audited
as the checker reads it: the verification agents (``default_auditors()``, or
``auditors=``) read every ``agent.output``, so every runner that checks a
history audits its outputs too. Each finding becomes an anomaly witnessed by
its own operation (if recorded) and the operations it names; warnings are
reported without failing the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from harness.audit.findings import ERROR, FINDING, INFO, Finding
from harness.checkers.base import NO_COMPLETION, Handler, run_checker
from harness.checkers.verdict import VIOLATION, WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import OK, Op

NAME = "findings"


class FindingsChecker:
    """Streaming: judges recorded findings, or audits the outputs as it goes
    (``audit=False``: recorded findings only). ``repeatable``: effect kinds
    the system declares may happen more than once (as the idempotency
    checker's setting of that name)."""

    name = NAME

    def __init__(
        self,
        *,
        fail_on: Iterable[str] = (ERROR,),
        audit: bool = True,
        auditors: Sequence[Any] | None = None,
        repeatable: Iterable[str] = (),
        max_anomalies: int = 1000,
    ) -> None:
        self.fail_on = frozenset(fail_on)
        self.max_anomalies = max_anomalies
        self.recorded: list[tuple[Op, Finding]] = []
        self.malformed = 0
        self._audit = audit
        self._auditors = auditors
        self._repeatable = tuple(repeatable)
        self._world: Any = None
        self._found: list[Finding] = []
        self.outputs = 0

    def handler(self, f: str) -> Handler | None:
        if f == FINDING:
            return self._on_finding
        return self._on_op if self._audit else None

    def _on_finding(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        try:
            self.recorded.append((op, Finding.from_op(op)))
        except ValueError:
            self.malformed += 1

    def _on_op(self, op: Op, inv: Op | None) -> None:
        if inv is not None and op.error == NO_COMPLETION and op.index == inv.index:
            return  # stands for an invocation that never completed: not in the history
        if self._world is None:
            from harness.audit.auditors import RepeatedEffectsAuditor, default_auditors
            from harness.audit.world import World

            self._world = World()
            if self._auditors is None:
                # The system's repeatable effects are not repeats.
                self._auditors = [
                    RepeatedEffectsAuditor(self._repeatable) if isinstance(a, RepeatedEffectsAuditor) else a
                    for a in default_auditors()
                ]
            else:
                self._auditors = list(self._auditors)
        world = self._world
        world.observe(op)
        if op.type == OK and op.f == "agent.output":
            from harness.audit.world import AgentOutput

            self.outputs += 1
            out = AgentOutput.from_op(op)
            for a in self._auditors:  # type: ignore[union-attr]
                self._found.extend(a.audit(out, world))
            world.learn_output(out)

    def finish(self) -> Verdict:
        log = AnomalyLog(self.max_anomalies)
        by_auditor: Counter[str] = Counter()
        by_severity: Counter[str] = Counter()
        if self.recorded or self._world is None:
            found = [(op.index, fnd) for op, fnd in self.recorded]
            source = "recorded"
        else:
            for a in self._auditors:  # type: ignore[union-attr]
                self._found.extend(a.finish(self._world))
            found = [(None, fnd) for fnd in self._found]
            source = "audited"
        for index, fnd in found:
            by_auditor[fnd.auditor] += 1
            by_severity[fnd.severity] += 1
            if fnd.severity == INFO and INFO not in self.fail_on:
                continue
            ops = {*fnd.witnesses} | ({index} if index is not None else set())
            log.add(
                Anomaly(
                    kind=f"{fnd.auditor}/{fnd.kind}",
                    ops=tuple(sorted(ops)),
                    message=fnd.message,
                    key=fnd.subject,
                    severity=VIOLATION if fnd.severity in self.fail_on else WARNING,
                    details={"auditor": fnd.auditor, "severity": fnd.severity, **dict(fnd.details)},
                )
            )
        stats: dict[str, Any] = {
            "findings": sum(by_severity.values()),
            "by_severity": dict(sorted(by_severity.items())),
            "by_auditor": dict(sorted(by_auditor.items())),
            "source": source,
        }
        if source == "audited":
            stats["outputs"] = self.outputs
        if self.malformed:
            stats["malformed"] = self.malformed
        return log.verdict(NAME, stats)


def check_findings(history: Iterable[Op], **spec: Any) -> Verdict:
    """Fail on any audit finding of severity ``error`` (``fail_on`` to change);
    a history without recorded findings is audited first (``audit=False``: not)."""
    return run_checker(history, FindingsChecker(**spec))


__all__ = ["NAME", "FindingsChecker", "check_findings"]
