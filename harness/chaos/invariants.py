"""The invariants an experiment's steady state is made of, judged on a history.

Every streaming checker of :mod:`harness.checkers` (delivery, idempotency,
ordering, lost updates, sessions, budgets) plus the run invariants of
:mod:`harness.run.invariants` (every request reached a terminal state; no
effect was performed twice). The result is JSON, so it lands in the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.checkers import STREAMING, check
from harness.checkers.verdict import UNKNOWN, VIOLATION, Verdict
from harness.history.model import Op
from harness.run.invariants import all_terminal, no_double_effects

HOLDS, VIOLATED = "holds", "violated"
#: Witnesses listed per violated invariant.
MAX_WITNESSES = 3


def without_queues(ops: Iterable[Op], queues: Iterable[str]) -> list[Op]:
    """The history minus the SQS operations on ``queues`` (by name)."""
    skip = set(queues)
    return [op for op in ops if not (op.f.startswith("sqs.") and op.key in skip)]


def judge(
    ops: Sequence[Op],
    submitted: Sequence[str],
    states: Mapping[str, str],
    *,
    sns_fed_queues: Iterable[str] = (),
    checkers: Sequence[str] = tuple(STREAMING),
    specs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``{"verdict": holds|violated|unknown, "violated": [one line each],
    "invariants": {name: verdict}, "operations": n}``.

    Queues fed by SNS are left out of the delivery check: their messages are
    published (``sns.Publish``), never sent with SQS, so every receive would
    look unexpected."""
    checked = without_queues(ops, sns_fed_queues)
    verdicts = check(checked, checkers, specs={k: dict(v) for k, v in (specs or {}).items()})
    lines: list[str] = []
    table: dict[str, str] = {}
    for v in verdicts:
        table[v.checker] = _word(v.valid)
        if v.valid is False:
            lines += _witnesses(v)
    for inv in (all_terminal(submitted, states), no_double_effects(ops)):
        table[inv.name] = HOLDS if inv.holds else VIOLATED
        if not inv.holds:
            lines.append(f"{inv.name}: {inv.detail}")
    words = set(table.values())
    verdict = VIOLATED if VIOLATED in words else (UNKNOWN if UNKNOWN in words else HOLDS)
    unknown = [f"{v.checker}: {_why_unknown(v)}" for v in verdicts if v.valid == UNKNOWN]
    return {
        "verdict": verdict,
        "violated": lines,
        "unknown": unknown,
        "invariants": table,
        "operations": len(ops),
        "requests": len(submitted),
    }


def _word(valid: Any) -> str:
    if valid is True:
        return HOLDS
    return VIOLATED if valid is False else UNKNOWN


def _witnesses(v: Verdict) -> list[str]:
    bad = [a for a in v.anomalies if a.severity == VIOLATION]
    lines = [f"{v.checker}: {a.kind}: {a.message}" for a in bad[:MAX_WITNESSES]]
    if len(bad) > MAX_WITNESSES:
        lines.append(f"{v.checker}: ... and {len(bad) - MAX_WITNESSES} more")
    return lines


def _why_unknown(v: Verdict) -> str:
    kinds = sorted({a.kind for a in v.anomalies})
    return ", ".join(kinds) if kinds else str(v.stats.get("error", "undecided"))
