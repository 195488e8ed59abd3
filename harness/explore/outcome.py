"""What one explored case comes back as, and how a case is run wherever an
executor puts it (this process, a local worker process, a Dask worker).

:func:`run_case` is a plain top-level function of JSON in, :class:`Outcome`
out, so any executor can ship it: both are picklable and small (the history
itself stays where the case ran, unless it failed).
"""

from __future__ import annotations

import hashlib
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Outcome:
    """One case's result: the case (as ``Case.to_json``), whether it failed,
    the invariants it violated as ``(checker, anomaly kind)`` pairs (sorted,
    no repeats), the history's sha256, the run's wall time, and, when the
    case could not run at all, the error (one line)."""

    case: dict[str, Any]
    failed: bool
    violations: tuple[tuple[str, str], ...] = ()
    history_sha256: str = ""
    operations: int = 0
    seconds: float = 0.0
    error: str = ""
    #: The failing case's history as JSONL bytes (only when it failed), so a
    #: client far from the worker can write the corpus and the report.
    history: bytes = b""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def group(self) -> tuple[str, str]:
        """The failure group: the first violated invariant (checker, kind), or
        ("error", first line) for a case that could not run."""
        if self.error:
            return ("error", self.error.split(":")[0])
        return self.violations[0] if self.violations else ("", "")


class Executor(Protocol):
    """Runs cases somewhere, ``jobs`` at a time, handing back outcomes as
    they complete (not in submission order)."""

    jobs: int

    def run(self, cases: Iterable[dict[str, Any]]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


def run_case(case: dict[str, Any], checkers: list[str] | None = None) -> Outcome:
    """Simulate and check one case given as JSON; never raises for a case
    that cannot run (the outcome carries the error)."""
    from harness.history.jsonl import dumps_op
    from harness.sim.case import Case

    t0 = time.perf_counter()
    try:
        c = Case.from_json(case)
        result, verdicts = c.run(checkers, fork=True)
    except Exception as e:  # a case that cannot run is a finding of its own, not a crash of the campaign
        line = f"{type(e).__name__}: {e}".splitlines()[0]
        return Outcome(
            case=case,
            failed=True,
            error=line,
            seconds=time.perf_counter() - t0,
            stats={"traceback": traceback.format_exc(limit=8)},
        )
    body = b"".join(dumps_op(op) for op in result.ops)
    violations = sorted(
        {(v.checker, a.kind) for v in verdicts if v.valid is False for a in v.violations}
        | {(v.checker, v.checker) for v in verdicts if v.valid is False and not v.violations}
    )
    failed = bool(violations)
    return Outcome(
        case=case,
        failed=failed,
        violations=tuple(violations),
        history_sha256=hashlib.sha256(body).hexdigest(),
        operations=len(result.ops),
        seconds=time.perf_counter() - t0,
        history=body if failed else b"",
        stats={
            "steps": result.steps,
            "virtual_seconds": result.virtual_seconds,
            "stopped": result.stopped,
            # what the run's own checks read besides the history (the report re-checks from these)
            "requests": list(result.requests),
            "task_states": dict(result.task_states),
        },
    )


__all__ = ["Executor", "Outcome", "run_case"]
