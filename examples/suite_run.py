"""Run the property suite against an example's mutants and its correct
system, on the same fixed sequence of examples, and print the table of the
example's README.md::

    python -m examples.suite_run examples.counter.mutants

A mutants module names its system (``SYSTEM``, an import path) and its
planted bugs (``MUTANTS``: name -> :class:`Mutant`, each a set of the
system's options). The suite's properties run in order with their usual
example budgets (``harness.suite.EXAMPLES``), those that do not apply to the
system skipped, and stop at the first failure.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sim.checks import failures
from harness.suite import EXAMPLES, PROPERTIES, run_property
from harness.system import SystemRef


@dataclass(frozen=True)
class Mutant:
    """A planted bug: what it is, the options that plant it, and the checker
    expected to name it."""

    name: str
    options: Mapping[str, Any]
    checker: str


@dataclass
class Row:
    name: str
    caught_by: str | None  # the property
    checkers: list[str] = field(default_factory=list)  # the checkers that failed on the first failing case
    examples: int = 0  # of the catching property, up to the failure (or all run)
    examples_total: int = 0  # across the suite up to the catch
    seconds: float = 0.0
    verdict: str = ""


def suite(system: SystemRef) -> list[tuple[str, int]]:
    """The suite's properties that apply to ``system``, in order, with their budgets."""
    return [(name, EXAMPLES[name]) for name, p in PROPERTIES.items() if p.applies(system)]


def run(
    name: str,
    system: SystemRef,
    report_dir: Path | None = None,
    properties: Sequence[tuple[str, int]] | None = None,
) -> Row:
    """Run the properties in order until one fails."""
    t0 = time.perf_counter()
    total = 0
    for prop, budget in properties if properties is not None else suite(system):
        o = run_property(prop, system, max_examples=budget, report_dir=report_dir)
        total += o.examples
        if o.failure is not None:
            _, verdicts = o.failure.case.run()  # the same case again: which checkers failed
            first = str(o.failure).split("\n")[2:4]
            return Row(
                name,
                prop,
                sorted(v.checker for v in failures(verdicts)),
                o.examples,
                total,
                time.perf_counter() - t0,
                " / ".join(s.strip() for s in first),
            )
    return Row(name, None, [], 0, total, time.perf_counter() - t0, "")


def table(module: str, report_dir: Path | None = None) -> tuple[list[Row], Row, dict[str, Mutant]]:
    """Every mutant of ``module`` and the correct system, run through the suite."""
    mod = importlib.import_module(module)
    mutants: dict[str, Mutant] = mod.MUTANTS
    rows = [run(m.name, SystemRef(mod.SYSTEM, dict(m.options)), report_dir) for m in mutants.values()]
    ref = run("the correct system", SystemRef(mod.SYSTEM), report_dir)
    return rows, ref, mutants


def render(rows: list[Row], ref: Row, mutants: Mapping[str, Mutant]) -> str:
    out = [
        "| mutant | options | caught by | checker | examples needed | examples run (suite) | seconds |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        opts = ", ".join(_option(k, v) for k, v in mutants[r.name].options.items())
        out.append(
            f"| {r.name} | {opts} | {r.caught_by or 'NOT CAUGHT'} | {', '.join(r.checkers) or '-'} "
            f"| {r.examples} | {r.examples_total} | {r.seconds:.1f} |"
        )
    verdict = f"FAILED: {ref.verdict}" if ref.caught_by else f"passes all {ref.examples_total} examples"
    out.append(f"| **{ref.name}** | | {verdict} | | - | {ref.examples_total} | {ref.seconds:.1f} |")
    return "\n".join(out)


def _option(key: str, value: Any) -> str:
    """A class named by import path as its name, anything else as ``key=value``."""
    if isinstance(value, str) and ":" in value:
        return f"`{value.rsplit(':', 1)[-1]}`"
    return f"`{key}={json.dumps(value)}`"


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m examples.suite_run MUTANTS_MODULE", file=sys.stderr)
        return 2
    rows, ref, mutants = table(argv[0])
    print(render(rows, ref, mutants))
    for r in rows:
        print(f"# {r.name}: {r.verdict}", file=sys.stderr)
    return 0 if all(r.caught_by for r in rows) and ref.caught_by is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
