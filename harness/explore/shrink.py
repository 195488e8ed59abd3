"""Shrinking a failing case: a greedy delta-debugging pass over the
:class:`~harness.sim.case.Case` itself, repeated until nothing smaller fails.

Each round proposes smaller cases, the biggest cuts first: fewer requests
(halves, then quarters, ..., then one at a time), fewer faults, a shorter
schedule, fewer workers and supervisors, smaller numbers (the seeds,
schedule choices, a trigger's ``nth`` and ``max_count``). A candidate is kept
only if it still fails in the same group (the same first violated
invariant) and is smaller (:func:`size`); the first one kept starts the next
round. Candidates are run ``width`` at a time (the executor's jobs) and the
first of a batch, in the order proposed, wins, so the result does not depend
on how many run at once. The shrink stops when a round keeps nothing, or at
its time or run bound, with the smallest failing case found so far.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from harness.explore.outcome import Outcome
from harness.faults.plan import Fault
from harness.sim.case import Case

T = TypeVar("T")

#: Runs ``cases``, handing back their outcomes in any order.
RunMany = Callable[[list[dict[str, Any]]], Iterator[Outcome]]


def size(case: Case) -> tuple[int, ...]:
    """How big a case is, compared in this order: requests, faults, schedule
    length, agents (workers and supervisors), then the sum of its numbers."""
    numbers = abs(case.seed) + abs(case.plan.seed) + sum(abs(x) for x in case.schedule)
    for f in case.plan.faults:
        numbers += (f.trigger.nth or 0) + (f.trigger.max_count or 0)
    return (
        len(case.workload),
        len(case.plan.faults),
        len(case.schedule),
        case.workers + case.supervisors,
        numbers,
    )


def describe_size(case: Case) -> str:
    """The size of a case in words (for the table)."""
    n, f, s = len(case.workload), len(case.plan.faults), len(case.schedule)
    return (
        f"{n} request{'s' * (n != 1)}, {f} fault{'s' * (f != 1)}, schedule {s}, "
        f"{case.workers} worker{'s' * (case.workers != 1)}/role"
        + (f", {case.supervisors} supervisors" if case.supervisors != 1 else "")
    )


def _cuts(items: Sequence[T]) -> Iterator[tuple[T, ...]]:
    """``items`` with a slice removed: halves first, down to single items."""
    n = len(items)
    chunk = n
    while chunk >= 1:
        for start in range(0, n, chunk):
            yield tuple(items[:start]) + tuple(items[start + chunk :])
        chunk //= 2


def _with_faults(case: Case, faults: Sequence[Fault]) -> Case:
    return dataclasses.replace(case, plan=case.plan.model_copy(update={"faults": list(faults)}))


def candidates(case: Case) -> Iterator[Case]:
    """Smaller variants of ``case``, the biggest cuts first (see the module docstring)."""
    for wl in _cuts(case.workload):
        yield dataclasses.replace(case, workload=wl)
    for fs in _cuts(case.plan.faults):
        yield _with_faults(case, fs)
    sched = case.schedule
    if sched:
        yield dataclasses.replace(case, schedule=())
        yield dataclasses.replace(case, schedule=sched[: len(sched) // 2])
        for cut in _cuts(sched):
            yield dataclasses.replace(case, schedule=cut)
    if case.workers > 1:
        yield dataclasses.replace(case, workers=case.workers - 1)
    if case.supervisors > 1:
        yield dataclasses.replace(case, supervisors=case.supervisors - 1)
    yield from _smaller_numbers(case)


def _smaller_numbers(case: Case) -> Iterator[Case]:
    for s in _towards_zero(case.seed):
        yield dataclasses.replace(case, seed=s)
    for s in _towards_zero(case.plan.seed):
        yield dataclasses.replace(case, plan=case.plan.model_copy(update={"seed": s}))
    for i, x in enumerate(case.schedule):
        if x:
            yield dataclasses.replace(case, schedule=(*case.schedule[:i], 0, *case.schedule[i + 1 :]))
    faults = list(case.plan.faults)
    for i, f in enumerate(faults):
        for field, low in (("nth", 1), ("max_count", 1)):
            value = getattr(f.trigger, field)
            if value is not None and value > low:
                for v in dict.fromkeys((low, max(low, value // 2), value - 1)):
                    trigger = f.trigger.model_copy(update={field: v})
                    yield _with_faults(
                        case, [*faults[:i], f.model_copy(update={"trigger": trigger}), *faults[i + 1 :]]
                    )


def _towards_zero(n: int) -> list[int]:
    return list(dict.fromkeys(x for x in (0, n // 2, n - 1 if n > 0 else n + 1) if abs(x) < abs(n)))


def _key(case: Case) -> str:
    return json.dumps(case.to_json(), sort_keys=True)


class Shrinker:
    """Shrinks one failing case of ``group`` (see the module docstring).
    ``best`` and ``outcome`` hold the smallest failing case so far, even
    when the shrink is interrupted."""

    def __init__(
        self,
        case: Case,
        outcome: Outcome,
        run_many: RunMany,
        *,
        width: int = 1,
        seconds: float = 60.0,
        max_runs: int = 300,
    ) -> None:
        self.group = outcome.group
        self.best, self.outcome = case, outcome
        self.run_many = run_many
        self.width = max(1, width)
        self.deadline = time.monotonic() + seconds
        self.max_runs = max_runs
        self.runs = 0
        self.rounds = 0
        self.complete = False
        self._tried = {_key(case)}

    def _out_of_budget(self) -> bool:
        return self.runs >= self.max_runs or time.monotonic() >= self.deadline

    def run(self) -> Case:
        """Shrink until a round keeps nothing or the budget is spent; the smallest case."""
        while True:
            kept = self._round()
            if kept is None:  # out of time or runs
                break
            if not kept:
                self.complete = True
                break
        return self.best

    def _round(self) -> bool | None:
        """One round: True if a smaller failing case was kept, False if none
        was, None if the budget ran out first."""
        self.rounds += 1
        batch: list[Case] = []
        current = size(self.best)
        for cand in candidates(self.best):
            k = _key(cand)
            if k in self._tried or size(cand) >= current:
                continue
            self._tried.add(k)
            batch.append(cand)
            if len(batch) >= self.width:
                if self._out_of_budget():
                    return None
                if self._try(batch):
                    return True
                batch = []
        if batch:
            if self._out_of_budget():
                return None
            if self._try(batch):
                return True
        return False

    def _try(self, batch: list[Case]) -> bool:
        """Run a batch; keep its first (as proposed) candidate that fails in the group."""
        cases = [c.to_json() for c in batch]
        keys = [json.dumps(c, sort_keys=True) for c in cases]
        got: dict[str, Outcome] = {}
        for out in self.run_many(cases):
            got[json.dumps(out.case, sort_keys=True)] = out
        self.runs += len(batch)
        for cand, k in zip(batch, keys, strict=True):
            out = got.get(k)
            if out is not None and out.failed and out.group == self.group:
                self.best, self.outcome = cand, out
                return True
        return False


__all__ = ["Shrinker", "candidates", "describe_size", "size"]
