"""Console rendering of diffs, consumer checks and gate reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.contracts.compat import Change
from harness.contracts.modes import Result

if TYPE_CHECKING:
    from harness.contracts.gate import GateReport

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow", "warn": "yellow"}


def changes_table(changes: Sequence[Change], title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    t.add_column("breaks")
    t.add_column("kind", style="bold")
    t.add_column("path", style="cyan")
    t.add_column("change")
    for c in changes:
        t.add_row(c.breaks, c.kind, c.path, c.message)
    return t


def print_result(result: Result, console: Console) -> None:
    for cmp in result.comparisons:
        if cmp.changes:
            console.print(changes_table(cmp.changes, title=f"{cmp.against} -> {result.new}"))
    n = len(result.changes)
    if result.mode == "NONE":
        line = Text(f"mode NONE: compatible ({n} change(s) listed, not enforced)", style="green")
    elif result.compatible:
        against = len(result.comparisons)
        line = Text(f"mode {result.mode}: compatible with {against} earlier version(s)", style="green")
    elif result.note:
        line = Text(f"mode {result.mode}: INCOMPATIBLE: {result.note}", style="bold red")
    else:
        line = Text(f"mode {result.mode}: INCOMPATIBLE: {n} breaking change(s)", style="bold red")
    console.print(line)


def print_gate(report: GateReport, console: Console) -> None:
    t = Table(title=f"swap gate: role {report.role}, candidate {report.candidate}", title_justify="left")
    t.add_column("step", style="bold")
    t.add_column("result")
    t.add_column("time", justify="right")
    t.add_column("summary")
    for s in report.steps:
        t.add_row(
            s.name,
            Text(s.status.upper(), style=_STATUS_STYLE.get(s.status, "")),
            f"{s.seconds:.2f}s",
            s.summary,
        )
    console.print(t)
    for s in report.steps:
        shown = [f for f in s.findings if f.get("severity", "error") == "error"] if s.status == "fail" else []
        if not shown:
            continue
        ft = Table(title=f"{s.name}: why it failed", title_justify="left")
        ft.add_column("where", style="cyan")
        ft.add_column("what", style="bold")
        ft.add_column("detail")
        for f in shown[:15]:
            ft.add_row(str(f.get("where", "")), str(f.get("kind", "")), str(f.get("message", "")))
        if len(shown) > 15:
            ft.add_row("", "", f"... and {len(shown) - 15} more in the JSON report")
        console.print(ft)
    style = "bold green" if report.safe else "bold red"
    verdict = "SAFE to swap" if report.safe else "NOT SAFE to swap"
    console.print(Text(f"{verdict} ({report.role}: {report.incumbent} -> {report.candidate})", style=style))
    if report.path is not None:
        console.print(f"report: {report.path}")
