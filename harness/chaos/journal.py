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


class JournalError(ValueError):
    """A file that is not a Chaos Toolkit journal; the message is one line and
    names the offending field."""


def load(path: str | Path) -> dict[str, Any]:
    """The journal in ``path``, its shape checked (see :func:`check_journal`).
    Raises OSError when it cannot be read, JournalError when it is not a journal."""
    text = Path(path).read_bytes()
    try:
        data = json.loads(text)
    except RecursionError:
        raise JournalError("JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise JournalError(f"not JSON: {e}") from None
    check_journal(data)
    return dict(data)


def _is_list_of(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, list) and all(isinstance(x, kind) for x in value)


def _check_runs(runs: Any, where: str) -> None:
    if runs is None:
        return
    if not _is_list_of(runs, dict):
        raise JournalError(f"{where} must be a list of activity runs (objects)")
    for i, run in enumerate(runs):
        at = f"{where}[{i}]"
        if not isinstance(run.get("activity", {}), dict):
            raise JournalError(f"{at}.activity must be an object")
        exc = run.get("exception")
        if exc is not None and not isinstance(exc, str) and not _is_list_of(exc, str):
            raise JournalError(f"{at}.exception must be a string or a list of strings")
        out = run.get("output")
        if isinstance(out, dict) and "violated" in out:
            for k in ("violated", "unknown"):
                if not isinstance(out.get(k) or [], list):
                    raise JournalError(f"{at}.output.{k} must be a list")


def check_journal(journal: Any) -> None:
    """Raise JournalError unless ``journal`` has the shape of a Chaos Toolkit
    journal in every field the judgement reads (and nests at most
    :data:`~harness.history.model.MAX_NESTING` levels deep)."""
    from harness.history.model import MAX_NESTING, nesting

    if not isinstance(journal, dict):
        raise JournalError("not a Chaos Toolkit journal (expected a JSON object)")
    if nesting(journal, MAX_NESTING) > MAX_NESTING:
        raise JournalError(f"nested deeper than {MAX_NESTING} levels")
    if not isinstance(journal.get("status"), str):
        raise JournalError("not a Chaos Toolkit journal (no status string)")
    for name in ("harness", "steady_states", "experiment"):
        if journal.get(name) is not None and not isinstance(journal[name], dict):
            raise JournalError(f"{name} must be an object")
    states = journal.get("steady_states") or {}
    for name in ("before", "after"):
        state = states.get(name)
        if state is None:
            continue
        if not isinstance(state, dict):
            raise JournalError(f"steady_states.{name} must be an object or null")
        _check_runs(state.get("probes"), f"steady_states.{name}.probes")
    for section in ("run", "rollbacks"):
        _check_runs(journal.get(section), section)


def _last_line(exc: Any) -> str:
    """The last line of a run's exception (a traceback as a list of strings)."""
    if isinstance(exc, list):
        exc = exc[-1] if exc else ""
    return str(exc or "").strip()


def judge(journal: dict[str, Any]) -> Judgement:
    """The verdict of a journal; raises JournalError if it is not one."""
    check_journal(journal)
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
    if after is None and (journal.get("experiment") or {}).get("steady-state-hypothesis"):
        return Judgement(ERROR, "the steady state was not checked after the method")
    notes = _failed_activities(journal)
    return Judgement(PASS, "the steady state held before and after the method", notes)


def _unmet(state: dict[str, Any]) -> list[str]:
    lines = []
    for run in state.get("probes") or []:
        if run.get("tolerance_met", True) and run.get("status") == "succeeded":
            continue
        name = (run.get("activity") or {}).get("name", "?")
        if run.get("status") != "succeeded":
            lines.append(f"probe {name} failed: {_last_line(run.get('exception')) or run.get('status')}")
            continue
        out = run.get("output")
        if isinstance(out, dict) and "violated" in out:
            lines.append(f"probe {name}: {out.get('verdict')}")
            lines += [f"  {line}" for line in out.get("violated") or []]
            lines += [f"  undecided: {line}" for line in out.get("unknown") or []]
        else:
            tol = (run.get("activity") or {}).get("tolerance")
            lines.append(f"probe {name}: got {json.dumps(out)}, expected {json.dumps(tol)}")
    return lines


def _failed_activities(journal: dict[str, Any]) -> list[str]:
    lines = []
    for section in ("run", "rollbacks"):
        for run in journal.get(section) or []:
            if run.get("status") == "failed":
                where = "rollback" if section == "rollbacks" else "activity"
                name = (run.get("activity") or {}).get("name", "?")
                lines.append(f"{where} {name} failed: {_last_line(run.get('exception'))}")
    return lines
