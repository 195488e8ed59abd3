"""Idempotency: each logical operation's external effect happens exactly once,
despite redelivery and retries.

Effects are declared as operations ``effect.<kind>`` whose ``key`` is the
logical operation id. An ``ok`` completion means the effect happened; ``fail``
that it did not, and with a ``refused`` error (``AlreadyDone``: a provider
refused a repeated idempotency key) also that it had already happened; ``info``
(or no completion) that it may have happened, or not. As in Jepsen, an
attempt of unknown outcome may be taken either way, and the verdict is a
violation only when no way of taking them satisfies the property. Per
(kind, logical id):

- two or more ``ok`` -> ``duplicate_effect`` (a violation);
- one ``ok`` plus attempts of unknown outcome -> ``possible_duplicate`` (a
  warning: the unknown attempts may not have taken effect; with
  ``strict=True`` the verdict is then ``unknown``);
- with ``expected`` ids given: no ``ok``, no attempt of unknown outcome and no
  refusal -> ``missing_effect`` (a violation). A refusal with neither an
  ``ok`` nor an unknown attempt means the effect happened unrecorded (its
  process crashed between the effect and its record): counted in the stats as
  ``unrecorded``.

Per logical operation as well: an effect recorded with an ``operation`` in
its meta (the task or subtask its delivery was about, see
:func:`harness.instrument.operation`) and an ``attempt`` (which delivery)
is judged by what it did, not by its key. Two ``ok`` effects of one kind for
one operation, under different keys and by different attempts, are a
``duplicate_effect``: a key that changes between deliveries (a receipt
handle, an attempt number, a timestamp in it) does the work twice. Effects
of one attempt under several keys are several effects of one delivery (a
message sent to two recipients), not judged; without an ``attempt``, any
two keys count. ``per_operation=False`` turns this off.

Effect kinds named in ``repeatable`` (``publish`` or ``effect.publish``) may
happen more than once for one logical operation: they are counted, not
judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, hashable, run_checker
from harness.checkers.verdict import WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import FAIL, INFO, INVOKE, OK, Op

NAME = "idempotency"

#: ``fail`` errors that mean the effect was refused because it had already happened
REFUSED: tuple[str, ...] = ("AlreadyDone",)

# Per (kind, id) the common case, one ok and nothing else, is stored as the
# index of that ok (an int); anything else as a list [ok count, unknown count,
# first ok index, second ok index, last unknown index, refusals].
_OKS, _UNKNOWN, _FIRST, _SECOND, _LAST_UNKNOWN, _REFUSED = range(6)


class IdempotencyChecker:
    """Streaming idempotency checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        prefixes: Iterable[str] = (c.EFFECT_PREFIX,),
        expected: Iterable[Any] | None = None,
        per_kind: bool = True,
        refused: Iterable[str] = REFUSED,
        strict: bool = False,
        repeatable: Iterable[str] = (),
        per_operation: bool = True,
        max_anomalies: int = 1000,
    ) -> None:
        self.prefixes = tuple(prefixes)
        if isinstance(repeatable, str):
            raise ValueError("idempotency 'repeatable' must be a list of effect kinds")
        self.repeatable = frozenset(
            k if k.startswith(self.prefixes) else c.EFFECT_PREFIX + k for k in map(str, repeatable)
        )
        self.repeated = 0
        self.expected = None if expected is None else {hashable(e) for e in expected}
        self.per_kind = per_kind
        self.refused = frozenset(refused)
        self.strict = strict
        self.log = AnomalyLog(max_anomalies)
        self.effects: dict[str, dict[Any, int | list[int]]] = {}  # kind -> id -> record
        self.attempts = 0
        self.per_operation = per_operation
        #: (kind, operation) -> key -> (first ok index, attempt) of the effects done under that key
        self.by_operation: dict[tuple[str, str], dict[Any, tuple[int, Any]]] = {}

    def handler(self, f: str) -> Handler | None:
        if not f.startswith(self.prefixes):
            return None
        return self._on_repeatable if f in self.repeatable else self._on_effect

    def _on_repeatable(self, op: Op, inv: Op | None) -> None:
        if op.type == OK:
            self.repeated += 1

    def _on_effect(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t == INVOKE:
            self.attempts += 1
            return
        if t == FAIL and op.error not in self.refused:
            return  # it certainly did not happen, and says nothing of other attempts
        per = self.effects.get(op.f if self.per_kind else "")
        if per is None:
            per = self.effects[op.f if self.per_kind else ""] = {}
        key = hashable(op.key)
        rec = per.get(key)
        if rec is None:
            if t == OK:
                per[key] = op.index
                self._note_operation(op, key)
                return
            rec = per[key] = [0, 0, -1, -1, -1, 0]
        elif type(rec) is int:
            rec = per[key] = [1, 0, rec, -1, -1, 0]
        if t == OK:
            self._note_operation(op, key)
            rec[_OKS] += 1
            if rec[_OKS] == 1:
                rec[_FIRST] = op.index
            elif rec[_OKS] == 2:
                rec[_SECOND] = op.index
        elif t == INFO:
            rec[_UNKNOWN] += 1
            rec[_LAST_UNKNOWN] = op.index
        else:
            rec[_REFUSED] += 1

    def _note_operation(self, op: Op, key: Any) -> None:
        if not self.per_operation:
            return
        logical = op.meta.get(c.OPERATION) if op.meta else None
        if logical is None:
            return
        keys = self.by_operation.setdefault((op.f, str(logical)), {})
        if key not in keys:
            keys[key] = (op.index, op.meta.get(c.ATTEMPT))

    def _operation_duplicates(self) -> int:
        """Operations whose effect of one kind was done by two attempts under two keys."""
        found = 0
        for (f, logical), keys in self.by_operation.items():
            if len(keys) < 2:
                continue
            done = sorted(keys.items(), key=lambda kv: kv[1][0])
            first_key, (first, first_attempt) = done[0]
            other = next(
                (
                    (k, i)
                    for k, (i, a) in done[1:]
                    if a is None or first_attempt is None or a != first_attempt
                ),
                None,
            )
            if other is None:
                continue
            found += 1
            self.log.add(
                Anomaly(
                    kind="duplicate_effect",
                    ops=(first, other[1]),
                    message=(
                        f"{f} for one logical operation {logical!r} happened under {len(keys)} keys "
                        f"({first_key!r}, {other[0]!r}): an idempotency key that changes between "
                        f"deliveries (ops {first}, {other[1]})"
                    ),
                    key=logical,
                    details={"f": f, "operation": logical, "keys": [repr(k) for k, _ in done[:5]]},
                )
            )
        return found

    def _records(self) -> Iterator[tuple[str, Any, list[int]]]:
        for f, per in self.effects.items():
            for key, rec in per.items():
                yield f, key, ([1, 0, rec, -1, -1, 0] if type(rec) is int else rec)

    def finish(self) -> Verdict:
        unknown = False
        duplicates = possible = unrecorded = 0
        for f, key, (oks, unk, first, second, last_unk, refusals) in self._records():
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
                possible += 1
                unknown = unknown or self.strict
                self.log.add(
                    Anomaly(
                        kind="possible_duplicate",
                        ops=(first, last_unk),
                        message=(
                            f"{f or 'effect'} for {key!r} happened once; {unk} more attempt(s) of unknown "
                            f"outcome may also have taken effect"
                        ),
                        key=key,
                        severity=WARNING,
                        details={"f": f, "unknown_attempts": unk},
                    )
                )
            elif oks == 0 and unk == 0 and refusals:
                unrecorded += 1
        duplicates += self._operation_duplicates()
        missing = 0
        if self.expected is not None:
            seen: dict[Any, tuple[int, int, int]] = {}
            for _, key, rec in self._records():
                o, u, r = seen.get(key, (0, 0, 0))
                seen[key] = (o + rec[_OKS], u + rec[_UNKNOWN], r + rec[_REFUSED])
            for key in sorted(self.expected, key=repr):
                oks, unk, refusals = seen.get(key, (0, 0, 0))
                if oks or refusals:
                    continue
                if unk:
                    unknown = unknown or self.strict
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
        stats: dict[str, Any] = {
            "logical_operations": sum(len(per) for per in self.effects.values()),
            "attempts": self.attempts,
            "duplicated": duplicates,
            "possibly_duplicated": possible,
            "unrecorded": unrecorded,
            "missing": missing,
        }
        if self.repeatable:
            stats["repeatable_effects"] = self.repeated
        return self.log.verdict(NAME, stats, unknown=unknown)


def check_idempotency(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that each logical operation's effect happens exactly once."""
    return run_checker(history, IdempotencyChecker(**spec))


__all__ = ["NAME", "REFUSED", "IdempotencyChecker", "check_idempotency"]
