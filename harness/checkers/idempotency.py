"""Idempotency: each logical operation's external effect happens exactly once,
despite redelivery and retries.

Effects are declared as operations ``effect.<kind>`` whose ``key`` is the
logical operation id; an ``ok`` completion means the effect happened, ``fail``
that it did not, ``info`` (or no completion) that it may have. Per
(kind, logical id):

- two or more ``ok`` -> ``duplicate_effect`` (a violation);
- one ``ok`` plus attempts of unknown outcome -> ``possible_duplicate``: the
  verdict is then ``unknown`` unless a violation is found elsewhere;
- with ``expected`` ids given: no ``ok`` -> ``missing_effect`` (a violation),
  or ``unknown`` if some attempt's outcome is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, hashable, run_checker
from harness.checkers.verdict import WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

NAME = "idempotency"

# Per (kind, id) the common case, one ok and nothing else, is stored as the
# index of that ok (an int); anything else as a list
# [ok count, unknown count, first ok index, second ok index, last unknown index].
_OKS, _UNKNOWN, _FIRST, _SECOND, _LAST_UNKNOWN = range(5)


class IdempotencyChecker:
    """Streaming idempotency checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        prefixes: Iterable[str] = (c.EFFECT_PREFIX,),
        expected: Iterable[Any] | None = None,
        per_kind: bool = True,
        max_anomalies: int = 1000,
    ) -> None:
        self.prefixes = tuple(prefixes)
        self.expected = None if expected is None else {hashable(e) for e in expected}
        self.per_kind = per_kind
        self.log = AnomalyLog(max_anomalies)
        self.effects: dict[str, dict[Any, int | list[int]]] = {}  # kind -> id -> record
        self.attempts = 0

    def handler(self, f: str) -> Handler | None:
        return self._on_effect if f.startswith(self.prefixes) else None

    def _on_effect(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t == INVOKE:
            self.attempts += 1
            return
        if t != OK and t != INFO:
            return
        per = self.effects.get(op.f if self.per_kind else "")
        if per is None:
            per = self.effects[op.f if self.per_kind else ""] = {}
        key = hashable(op.key)
        rec = per.get(key)
        if rec is None:
            if t == OK:
                per[key] = op.index
                return
            rec = per[key] = [0, 0, -1, -1, -1]
        elif type(rec) is int:
            rec = per[key] = [1, 0, rec, -1, -1]
        if t == OK:
            rec[_OKS] += 1
            if rec[_OKS] == 1:
                rec[_FIRST] = op.index
            elif rec[_OKS] == 2:
                rec[_SECOND] = op.index
        else:
            rec[_UNKNOWN] += 1
            rec[_LAST_UNKNOWN] = op.index

    def _records(self) -> Iterator[tuple[str, Any, list[int]]]:
        for f, per in self.effects.items():
            for key, rec in per.items():
                yield f, key, ([1, 0, rec, -1, -1] if type(rec) is int else rec)

    def finish(self) -> Verdict:
        unknown = False
        duplicates = 0
        for f, key, (oks, unk, first, second, last_unk) in self._records():
            if oks >= 2:
                duplicates += 1
                self.log.add(
                    Anomaly(
                        kind="duplicate_effect",
                        ops=(first, second),
                        message=f"{f or 'effect'} for {key!r} happened {oks} times (ops {first}, {second}, ...)",
                        key=key,
                        details={"f": f, "times": oks},
                    )
                )
            elif oks == 1 and unk:
                unknown = True
                self.log.add(
                    Anomaly(
                        kind="possible_duplicate",
                        ops=(first, last_unk),
                        message=f"{f or 'effect'} for {key!r} happened once and maybe again (outcome unknown)",
                        key=key,
                        severity=WARNING,
                        details={"f": f, "unknown_attempts": unk},
                    )
                )
        missing = 0
        if self.expected is not None:
            seen: dict[Any, tuple[int, int]] = {}
            for _, key, rec in self._records():
                o, u = seen.get(key, (0, 0))
                seen[key] = (o + rec[_OKS], u + rec[_UNKNOWN])
            for key in sorted(self.expected, key=repr):
                oks, unk = seen.get(key, (0, 0))
                if oks:
                    continue
                if unk:
                    unknown = True
                    continue
                missing += 1
                self.log.add(
                    Anomaly(
                        kind="missing_effect",
                        ops=(),
                        message=f"no effect happened for logical operation {key!r}",
                        key=key,
                    )
                )
        stats = {
            "logical_operations": sum(len(per) for per in self.effects.values()),
            "attempts": self.attempts,
            "duplicated": duplicates,
            "missing": missing,
        }
        return self.log.verdict(NAME, stats, unknown=unknown)


def check_idempotency(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that each logical operation's effect happens exactly once."""
    return run_checker(history, IdempotencyChecker(**spec))


__all__ = ["NAME", "IdempotencyChecker", "check_idempotency"]
