"""Run the property suite against each mutant (and the reference system) with
the same fixed sequence of examples, and print the table of
tests/mutants/README.md::

    python -m tests.mutants.suite_run
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.suite import EXAMPLES, PROPERTIES, run_property
from harness.system import SystemRef
from tests.mutants.mutants import CORRECT_WORKERS, MUTANTS, SUITE_BLIND, subject

#: The suite's properties in the order they run, each with its example budget.
SUITE: tuple[tuple[str, int], ...] = tuple((name, EXAMPLES[name]) for name in PROPERTIES)


@dataclass
class Row:
    name: str
    caught_by: str | None
    examples: int  # examples of the property that caught it (or all run)
    examples_total: int  # across the suite, up to the catch
    seconds: float
    verdict: str


def run(name: str, system: SystemRef, report_dir: Path | None = None) -> Row:
    t0 = time.perf_counter()
    total = 0
    for prop, budget in SUITE:
        o = run_property(prop, system, max_examples=budget, report_dir=report_dir)
        total += o.examples
        if o.failure is not None:
            first = str(o.failure).split("\n")[2:4]
            return Row(
                name, prop, o.examples, total, time.perf_counter() - t0, " / ".join(s.strip() for s in first)
            )
    return Row(name, None, 0, total, time.perf_counter() - t0, "")


def main() -> int:
    rows = [run(n, subject(spec)) for n, spec in MUTANTS.items()]
    ref = run("reference system (must pass)", SystemRef())
    correct = [run(n, subject(spec)) for n, spec in CORRECT_WORKERS.items()]
    print("| mutant | caught by | examples needed | examples run (suite) | seconds |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.name} | {r.caught_by or 'NOT CAUGHT'} | {r.examples} | {r.examples_total} | {r.seconds:.0f} |"
        )
    print(
        f"| {ref.name} | {'FAILED: ' + ref.verdict if ref.caught_by else 'passes'} | - | {ref.examples_total} | {ref.seconds:.0f} |"
    )
    for r in correct:
        print(
            f"| {r.name} (must pass) | {'FAILED: ' + r.verdict if r.caught_by else 'passes'} | - | {r.examples_total} | {r.seconds:.0f} |"
        )
    for r in rows:
        print(f"# {r.name}: {r.verdict}", file=sys.stderr)
    passed = ref.caught_by is None and not any(r.caught_by for r in correct)
    caught = all(bool(r.caught_by) != (r.name in SUITE_BLIND) for r in rows)
    return 0 if caught and passed else 1


if __name__ == "__main__":
    sys.exit(main())
