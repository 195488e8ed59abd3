"""Judging a Chaos Toolkit journal.

``chaos run`` exits 0 even when the steady state already failed before the
method (the journal then says ``completed``, with
``steady_states.before.steady_state_met`` false), so the verdict is read from
the journal: the steady state must hold before and after the method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, ERROR = 0, 1, 2


@dataclass
class Judgement:
    """``code``: 0 the hypothesis held before and after the method, 1 it did
    not (a weakness was found), 2 the experiment could not be carried out."""

    code: int
    summary: str
    details: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return {PASS: "PASS", FAIL: "FAIL"}.get(self.code, "ERROR")


def load(path: str | Path) -> dict[str, Any]:
    return dict(json.loads(Path(path).read_text()))


def judge(journal: dict[str, Any]) -> Judgement:
    harness = journal.get("harness") or {}
    if harness.get("error"):
        return Judgement(ERROR, f"the system did not start: {harness['error']}")
    status = journal.get("status")
    states = journal.get("steady_states") or {}
    before, after = states.get("before"), states.get("after")
    if status in ("interrupted", "aborted"):
        return Judgement(ERROR, f"the experiment was {status}", _failed_activities(journal))
    if before is not None and not before.get("steady_state_met"):
        return Judgement(FAIL, "the steady state did not hold before the method", _unmet(before))
    if journal.get("deviated") or (after is not None and not after.get("steady_state_met")):
        return Judgement(FAIL, "the steady state deviated after the method", _unmet(after or {}))
    if status != "completed":
        return Judgement(ERROR, f"the experiment ended {status}", _failed_activities(journal))
    if after is None and journal.get("experiment", {}).get("steady-state-hypothesis"):
        return Judgement(ERROR, "the steady state was not checked after the method")
    notes = _failed_activities(journal)
    return Judgement(PASS, "the steady state held before and after the method", notes)


def _unmet(state: dict[str, Any]) -> list[str]:
    lines = []
    for run in state.get("probes", []):
        if run.get("tolerance_met", True) and run.get("status") == "succeeded":
            continue
        name = run.get("activity", {}).get("name", "?")
        if run.get("status") != "succeeded":
            lines.append(
                f"probe {name} failed: {run.get('exception', [''])[-1].strip() or run.get('status')}"
            )
            continue
        out = run.get("output")
        if isinstance(out, dict) and "violated" in out:
            lines.append(f"probe {name}: {out.get('verdict')}")
            lines += [f"  {line}" for line in out.get("violated", [])]
            lines += [f"  undecided: {line}" for line in out.get("unknown", [])]
        else:
            tol = run.get("activity", {}).get("tolerance")
            lines.append(f"probe {name}: got {json.dumps(out)}, expected {json.dumps(tol)}")
    return lines


def _failed_activities(journal: dict[str, Any]) -> list[str]:
    lines = []
    for section in ("run", "rollbacks"):
        for run in journal.get(section) or []:
            if run.get("status") == "failed":
                exc = run.get("exception") or [""]
                where = "rollback" if section == "rollbacks" else "activity"
                lines.append(f"{where} {run.get('activity', {}).get('name', '?')} failed: {exc[-1].strip()}")
    return lines
