"""``build_report``: a history (and optionally its verdicts) to report.html."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.checkers.verdict import UNKNOWN, Verdict
from harness.history.jsonl import read_history
from harness.history.model import Op
from harness.report.model import build_model
from harness.report.page import render


def run_checkers(
    ops: list[Op], specs: dict[str, dict[str, Any]] | None = None
) -> tuple[list[Op], list[Verdict]]:
    """Every streaming checker (``specs``: keyword arguments per checker, as a
    system's declarations give them), the findings checker among them. A history
    without findings is audited after the fact first; the findings join the
    history. A checker that crashes gives an ``unknown`` verdict naming the error."""
    from harness import checkers
    from harness.audit import FINDING, audit_history, finding_ops

    if not any(op.f == FINDING for op in ops):
        ops = ops + finding_ops(ops, audit_history(ops))
    names = list(getattr(checkers, "STREAMING", {}))
    verdicts: list[Verdict] = []
    try:
        verdicts = list(checkers.check(ops, names, specs=specs))
    except Exception:
        for name in names:
            try:
                verdicts.extend(checkers.check(ops, [name], specs=specs))
            except Exception as e:
                verdicts.append(Verdict(name, UNKNOWN, stats={"error": f"{type(e).__name__}: {e}"}))
    return ops, verdicts


def build_report(
    history_path: str | Path,
    out_path: str | Path | None = None,
    verdicts: Sequence[Verdict] | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write the self-contained HTML report of a JSONL history; returns its path.

    ``out_path`` defaults to ``report.html`` beside the history. With
    ``verdicts`` None, the checkers (and the auditors) run here. Raises
    :class:`~harness.history.HistoryFormatError` on a malformed history.
    """
    history_path = Path(history_path)
    out = Path(out_path) if out_path is not None else history_path.with_name("report.html")
    ops = read_history(history_path)
    if verdicts is None:
        ops, found = run_checkers(ops)
    else:
        found = list(verdicts)
    name = history_path.parent.name or history_path.name
    return write_report(ops, found, out, title=title or f"Run report: {name}", source=str(history_path))


def write_report(
    ops: Sequence[Op], verdicts: Sequence[Verdict], out: str | Path, *, title: str, source: str
) -> Path:
    """Render the page for ``ops`` and ``verdicts`` and write it (atomically) to
    ``out``. Secrets in them are redacted first (a history the harness recorded
    has none; one imported from elsewhere may)."""
    out = Path(out)
    ops, verdicts = _redacted(ops, verdicts)
    model = build_model(ops, verdicts, title=title, source=source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render(model), encoding="utf-8")
    tmp.replace(out)
    return out


def _redacted(ops: Sequence[Op], verdicts: Sequence[Verdict]) -> tuple[list[Op], list[Verdict]]:
    from dataclasses import replace

    from harness.redaction import default_redactor

    r = default_redactor()
    if not r.enabled:
        return list(ops), list(verdicts)
    clean = []
    for v in verdicts:
        anomalies = tuple(
            replace(a, message=r.text(a.message), key=r.value(a.key), details=r.value(dict(a.details)))
            for a in v.anomalies
        )
        clean.append(replace(v, anomalies=anomalies, stats=r.value(dict(v.stats))))
    return [r.op(op) for op in ops], clean


__all__ = ["build_report", "run_checkers", "write_report"]
