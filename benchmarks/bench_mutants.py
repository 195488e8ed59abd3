"""Time to first failure of ``harness explore`` for every mutant of every
system: the reference system's (``tests/mutants``) and each example's.

For each mutant, the campaign's cases (campaign seed 1, every fault kind)
run through the local executor, ``--jobs`` at a time, until the first case
that fails or the time budget (120 s, as ``harness explore --time-budget
120``); the figure is the wall time from the campaign's start (worker
processes started and warmed up beforehand) to that case's outcome, and the
cases it took. The correct systems run for a short budget too: they must
find nothing.

    .venv/bin/python -m benchmarks.bench_mutants [--budget 120] [--jobs 2] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from harness.explore.generate import CaseSource
from harness.explore.local import LocalExecutor, warm_case
from harness.system import SystemRef

TARGET_MEDIAN = 20.0


@dataclass(frozen=True)
class Found:
    system: str
    mutant: str
    seconds: float | None  # None: not found within the budget
    cases: int
    group: str


def subjects() -> list[tuple[str, str, SystemRef]]:
    """(system, mutant, the system with it planted) for every known mutant."""
    from examples.choreography import mutants as shop
    from examples.counter import mutants as counter
    from tests.mutants.mutants import MUTANTS, subject

    out = [("reference", name, subject(parts)) for name, parts in MUTANTS.items()]
    for label, mod in (("counter", counter), ("choreography", shop)):
        out += [(label, m.name, SystemRef(mod.SYSTEM, dict(m.options))) for m in mod.MUTANTS.values()]
    return out


def first_failure(system: SystemRef, budget: float, jobs: int) -> tuple[float | None, int, str]:
    source = CaseSource(system, 1)
    executor = LocalExecutor(jobs=jobs)
    executor.start(warm_case(system.spec, dict(system.options)))
    t0 = time.monotonic()
    n = 0

    def cases() -> Any:
        for _, case in source.iterate():
            if time.monotonic() - t0 > budget:
                return
            yield case.to_json()

    try:
        for out in executor.run(cases()):
            n += 1
            if out.failed:
                return time.monotonic() - t0, n, "/".join(out.group)
            if time.monotonic() - t0 > budget:
                break
    finally:
        executor.close()
    return None, n, ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=120.0, help="seconds per mutant (120)")
    p.add_argument("--jobs", type=int, default=2, help="cases at a time (2)")
    p.add_argument("--only", default="", help="only mutants whose system or name contains this")
    p.add_argument("--correct", type=float, default=20.0, help="seconds for each correct system (20)")
    a = p.parse_args(argv)
    rows: list[Found] = []
    for label, name, system in subjects():
        if a.only and a.only not in f"{label} {name}":
            continue
        secs, n, group = first_failure(system, a.budget, a.jobs)
        rows.append(Found(label, name, secs, n, group))
        shown = f"{secs:6.1f} s" if secs is not None else "  not found"
        print(f"{label:13} {name[:58]:58} {shown} {n:4d} cases  {group}", flush=True)
    if not a.only and a.correct > 0:
        for label, spec in (
            ("reference", ""),
            ("counter", "examples.counter.system:system"),
            ("choreography", "examples.choreography.system:system"),
        ):
            secs, n, group = first_failure(SystemRef(spec), a.correct, a.jobs)
            print(
                f"{label:13} {'(correct)':58} {'found ' + group if secs else 'nothing found':>10} {n:4d} cases"
            )
    found = [r.seconds for r in rows if r.seconds is not None]
    if found:
        med = statistics.median(found)
        verdict = "meets" if med < TARGET_MEDIAN and len(found) == len(rows) else "BELOW"
        print(
            f"\n{len(found)}/{len(rows)} mutants found within {a.budget:g} s; median time to first failure "
            f"{med:.1f} s (max {max(found):.1f} s); {verdict} the target (all found, median under {TARGET_MEDIAN:g} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
