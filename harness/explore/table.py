"""What a campaign prints: a header line before it runs, and at the end the
table of groups (group, violated invariant, first seed, cases, smallest case,
replay command), where the index is, and how to resume."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from harness.explore.campaign import CampaignResult, Settings
from harness.explore.corpus import INDEX_FILE, Corpus
from harness.explore.shrink import describe_size


def _console() -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200, highlight=False)


def print_header(settings: Settings, start: int, executor: Any, corpus: Corpus) -> None:
    budget = (
        f"cases #{start}..#{start + settings.seeds - 1}"
        if settings.seeds is not None
        else f"from case #{start} for {settings.time_budget:g} s"
    )
    faults = (
        f"faults {','.join(settings.kinds)}"
        if settings.kinds
        else "a fixed plan"
        if settings.plan is not None
        else "the suite's fault families"
    )
    where = getattr(executor, "address", None) or "local"
    print(
        f"explore: system {settings.system.describe()}, campaign seed {settings.seed}, {budget}, {faults}; "
        f"{executor.jobs} at a time ({where}); corpus {corpus.root}",
        flush=True,
    )


def print_result(result: CampaignResult, settings: Settings, corpus: Corpus, args: Any = None) -> None:
    from rich.table import Table
    from rich.text import Text

    console = _console()
    if result.groups:
        table = Table(title=f"failures of campaign seed {result.seed}", show_lines=False)
        for name in ("group", "violated invariant", "first seed", "cases", "smallest case"):
            table.add_column(name, overflow="fold")
        # the command stays whole, to be copied
        table.add_column(
            "replay", no_wrap=True, min_width=max(len(g.replay()) for g in result.groups.values())
        )
        for group, g in sorted(result.groups.items()):
            cells = (
                f"{group[0]}/{group[1]}",
                g.message or group[1],
                g.first,
                str(g.cases),
                describe_size(g.smallest) + (f" ({g.shrink_runs} shrink runs)" if g.shrink_runs else ""),
                g.replay(),
            )
            table.add_row(*(Text(c) for c in cells))  # as written: a message may hold [brackets]
        console.print(table)
    ran = (
        f"#{result.start}..#{result.next - 1}" if result.next > result.start else f"none from #{result.start}"
    )
    skipped = f", {result.repeats} repeated draws skipped" if result.repeats else ""
    lines = [
        f"explore: {result.cases_run} cases run ({ran}{skipped}), "
        f"{result.replayed} replayed from the corpus, in {result.case_seconds:.1f} s "
        f"({(result.cases_run + result.replayed) / result.case_seconds if result.case_seconds else 0:.2f} cases/s)"
        + (f"; shrinking and reports {result.seconds - result.case_seconds:.1f} s" if result.groups else ""),
    ]
    if result.passed_on_replay:
        lines.append(f"explore: {len(result.passed_on_replay)} corpus case(s) no longer fail")
    if result.other_system:
        lines.append(f"explore: {result.other_system} corpus case(s) of other systems not replayed")
    if corpus.unreadable:
        path, why = corpus.unreadable[0]
        more = f" (and {len(corpus.unreadable) - 1} more)" if len(corpus.unreadable) > 1 else ""
        lines.append(f"explore: skipped an unreadable corpus case {path}: {why}{more}")
    found = len(result.groups)
    lines.append(
        f"explore: {found} group{'s' * (found != 1)} of failures"
        if found
        else "explore: no failures: every case held every invariant"
    )
    lines.append(f"index:   {corpus.root / INDEX_FILE}")
    if result.interrupted:
        lines.append("explore: interrupted; what was found is kept")
    lines.append(f"resume:  {resume_command(settings, corpus, args)}")
    for line in lines:
        console.print(line, markup=False)


def resume_command(settings: Settings, corpus: Corpus, args: Any = None) -> str:
    """The command that continues this campaign."""
    parts = ["harness", "explore"]
    if settings.system.spec:
        parts += ["--system", settings.system.spec]
    for opt in getattr(args, "option", None) or ():
        parts += ["--option", opt]
    for w in getattr(args, "worker", None) or ():
        parts += ["--worker", w]
    if settings.kinds:
        parts += ["--faults", ",".join(settings.kinds)]
    if getattr(args, "plan", None):
        parts += ["--plan", str(args.plan)]
    parts += ["--corpus", str(corpus.root), "--seed", str(settings.seed), "--resume"]
    return shlex.join(parts)


__all__ = ["print_header", "print_result", "resume_command"]
