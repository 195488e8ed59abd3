"""The campaign's pages: each group's HTML report (the harness's report of
its smallest case's history, :mod:`harness.report`) and ``index.html``, one
row per group of the corpus linking its report, its smallest case and the
command that replays it."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.explore.corpus import INDEX_FILE, REPORT_FILE, Corpus, history_path
from harness.explore.outcome import Outcome
from harness.sim.case import Case

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
code { font-size: 12px; background: #f6f6f6; padding: 0 .2em; }
.none { color: #777; }
"""


def verdicts_of(case: Case, outcome: Outcome, ops: list[Any]) -> list[Any]:
    """The verdicts of a case's run, checked again from its history and what
    the run left (its requests and task states); without those, the case is
    run again here."""
    stats = outcome.stats
    if "requests" not in stats or "task_states" not in stats:
        _, verdicts = case.run()
        return verdicts
    return case.judge(
        ops,
        list(stats["requests"]),
        dict(stats["task_states"]),
        note=f"run ended: {stats.get('stopped', '?')} at {float(stats.get('virtual_seconds', 0)):.1f} virtual seconds",
    )


def write_group_report(
    case_path: Path, case: Case, outcome: Outcome, group: tuple[str, str]
) -> tuple[Path | None, str]:
    """Write ``report.html`` beside a group's smallest case; the report's
    path (None for a case that could not run) and the first violation's message."""
    if outcome.error:
        return None, outcome.error
    from harness.history.jsonl import read_history
    from harness.report.build import write_report

    hist = history_path(case_path)
    ops = read_history(hist)
    verdicts = verdicts_of(case, outcome, ops)
    message = next(
        (a.message for v in verdicts if v.checker == group[0] for a in v.violations if a.kind == group[1]),
        next((a.message for v in verdicts for a in v.violations), ""),
    )
    out = write_report(
        ops,
        verdicts,
        case_path.parent / REPORT_FILE,
        title=f"{group[0]}: {group[1]} (smallest case {case.digest()})",
        source=str(hist),
    )
    return out, message


def _cell(text: object) -> str:
    return html.escape(str(text))


def _link(href: str | None, text: str) -> str:
    return (
        f'<a href="{html.escape(href)}">{_cell(text)}</a>'
        if href
        else f'<span class="none">{_cell(text)}</span>'
    )


def write_index(corpus: Corpus, groups: Iterable[dict[str, Any]] | None = None) -> Path:
    """Write ``CORPUS/index.html`` from every group's ``group.json``."""
    rows = []
    for g in sorted(groups if groups is not None else corpus.groups(), key=lambda g: str(g.get("dir", ""))):
        d = str(g.get("dir", ""))
        smallest = g.get("smallest") or ""
        report = f"{d}/{REPORT_FILE}" if (corpus.root / d / REPORT_FILE).exists() else None
        rows.append(
            "<tr>"
            f"<td>{_link(report, g.get('checker', '') + ': ' + g.get('kind', ''))}</td>"
            f"<td>{_cell(g.get('message', ''))}</td>"
            f"<td>{_cell(g.get('first', ''))}</td>"
            f"<td>{_cell(g.get('cases', 0))}</td>"
            f"<td>{_link(f'{d}/{smallest}' if smallest else None, g.get('size', '') or '(none)')}</td>"
            f"<td><code>{_cell(g.get('replay', ''))}</code></td>"
            "</tr>"
        )
    body = (
        "\n".join(rows)
        if rows
        else '<tr><td colspan="6" class="none">no failures found: every case held every invariant</td></tr>'
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Exploration corpus: {_cell(corpus.root.name)}</title>
<style>{_STYLE}</style></head><body>
<h1>Exploration corpus <code>{_cell(corpus.root)}</code></h1>
<p>One row per violated invariant. Each group's report shows its smallest failing case's history;
the command replays that case (run it from the directory the campaign ran in).</p>
<table><thead><tr><th>group</th><th>violated invariant</th><th>first seen</th><th>cases</th>
<th>smallest case</th><th>replay</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""
    out = corpus.root / INDEX_FILE
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = ["verdicts_of", "write_group_report", "write_index"]
