"""The console end of a run: a verdict table (rich)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from harness.checkers.verdict import Verdict


def verdict_table(verdicts: Sequence[Verdict], title: str = "verdicts") -> Table:
    """One row per checker: its verdict, violations, warnings and first anomaly."""
    t = Table(title=title)
    t.add_column("checker")
    t.add_column("verdict")
    t.add_column("violations", justify="right")
    t.add_column("warnings", justify="right")
    t.add_column("first anomaly", overflow="ellipsis", max_width=60)
    for v in verdicts:
        mark = "[green]pass" if v.valid is True else "[red]FAIL" if v.valid is False else "[yellow]unknown"
        first = v.anomalies[0].message if v.anomalies else ""
        t.add_row(v.checker, mark, str(len(v.violations)), str(len(v.warnings)), first)
    return t


def print_verdicts(verdicts: Sequence[Verdict], console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    console.print(verdict_table(verdicts))


__all__ = ["print_verdicts", "verdict_table"]
