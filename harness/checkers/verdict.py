"""The result of a checker: a verdict, the anomalies that witness it, and statistics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

UNKNOWN: Literal["unknown"] = "unknown"
VIOLATION = "violation"
WARNING = "warning"

Validity = bool | Literal["unknown"]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One thing that went wrong, named by ``kind`` and witnessed by operations.

    ``ops`` holds the ``index`` of every operation that witnesses the anomaly, in
    history order. A ``warning`` is reported but does not make the verdict
    invalid (e.g. a duplicate delivery, which at-least-once queues permit).
    """

    kind: str
    ops: tuple[int, ...]
    message: str
    key: Any = None
    severity: str = VIOLATION
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "ops": list(self.ops),
            "message": self.message,
            "severity": self.severity,
        }
        if self.key is not None:
            d["key"] = self.key
        if self.details:
            d["details"] = dict(self.details)
        return d


@dataclass(frozen=True, slots=True)
class Verdict:
    """``valid`` is True (the property holds), False (an anomaly proves it does
    not) or ``"unknown"`` (the checker could not decide, e.g. out of time or an
    outcome that matters is unknown)."""

    checker: str
    valid: Validity
    anomalies: tuple[Anomaly, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def violations(self) -> tuple[Anomaly, ...]:
        return tuple(a for a in self.anomalies if a.severity == VIOLATION)

    @property
    def warnings(self) -> tuple[Anomaly, ...]:
        return tuple(a for a in self.anomalies if a.severity != VIOLATION)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checker": self.checker,
            "valid": self.valid,
            "anomalies": [a.to_dict() for a in self.anomalies],
            "stats": dict(self.stats),
        }


def validity(anomalies: Iterable[Anomaly], *, unknown: bool = False) -> Validity:
    """False if any anomaly is a violation, else ``"unknown"`` if ``unknown``, else True."""
    if any(a.severity == VIOLATION for a in anomalies):
        return False
    return UNKNOWN if unknown else True


def combine(verdicts: Iterable[Verdict]) -> Validity:
    """The validity of several verdicts together: False beats unknown beats True."""
    result: Validity = True
    for v in verdicts:
        if v.valid is False:
            return False
        if v.valid == UNKNOWN:
            result = UNKNOWN
    return result


class AnomalyLog:
    """Collects anomalies, keeping at most ``limit`` of each severity but counting all."""

    __slots__ = ("items", "limit", "counts", "violations", "dropped")

    def __init__(self, limit: int = 1000) -> None:
        self.items: list[Anomaly] = []
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.violations = 0
        self.dropped = 0

    def add(self, anomaly: Anomaly) -> None:
        self.counts[anomaly.kind] = self.counts.get(anomaly.kind, 0) + 1
        if anomaly.severity == VIOLATION:
            self.violations += 1
        if len(self.items) < self.limit:
            self.items.append(anomaly)
        else:
            self.dropped += 1

    def verdict(self, checker: str, stats: dict[str, Any], *, unknown: bool = False) -> Verdict:
        stats = dict(stats)
        stats["anomalies"] = dict(sorted(self.counts.items()))
        if self.dropped:
            stats["anomalies_not_listed"] = self.dropped
        items = sorted(self.items, key=lambda a: (a.ops[:1] or (-1,), a.kind))
        valid: Validity = False if self.violations else (UNKNOWN if unknown else True)
        return Verdict(checker, valid, tuple(items), stats)
