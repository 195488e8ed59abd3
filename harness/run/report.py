"""Console summary of a run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from harness.run.main import RunResult


def print_summary(r: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title="run summary", show_header=False)
    t.add_row("requests submitted", str(r.submitted))
    t.add_row("completed", str(r.completed))
    t.add_row("failed", str(r.failed))
    t.add_row("unfinished", str(len(r.unfinished)))
    t.add_row("operations recorded", str(r.operations))
    t.add_row("faults injected", str(r.faults))
    if r.restarts:
        t.add_row("agents restarted after a crash", str(r.restarts))
    t.add_row("wall time", f"{r.wall_time:.1f} s")
    if "virtual_seconds" in r.extra:
        t.add_row("virtual time", f"{r.extra['virtual_seconds']:.1f} s")
    if "replay" in r.extra:
        t.add_row("replay", str(r.extra["replay"]))
    t.add_row("history", str(r.history))
    console.print(t)
    v = Table(title="invariants")
    v.add_column("invariant")
    v.add_column("verdict")
    v.add_column("detail")
    for inv in r.invariants:
        v.add_row(inv.name, "[green]holds" if inv.holds else "[red]VIOLATED", inv.detail)
    console.print(v)
    if r.verdicts:
        from harness.report import print_verdicts

        print_verdicts(r.verdicts, console)
    if r.report:
        console.print(f"report: {r.report}")
    console.print("[bold green]PASS" if r.ok else "[bold red]FAIL")
