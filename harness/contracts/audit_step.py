"""The gate's audit step: hand the candidate's outputs to the verification
agents (``harness.audit``) when that package is installed.

The runs of each implementation are a history like any other
(``agent.output``, ``model.complete`` and ``effect.*`` operations), so the
auditors read them after the fact. The first of ``audit_history(history)``
or ``audit(history)`` that ``harness.audit`` exposes is called on the
candidate's history and on the incumbent's (same inputs); it may return
Verdicts (``valid``), findings (``severity``), dicts of either, or a list.

The step is differential: a finding of severity error fails it only when
the incumbent did not earn the same one (same kind, same subject) on the
same inputs. The gate runs a worker alone, without the upstream stages
whose outputs some auditors cross-check against, so findings both share
say more about that context than about the candidate.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.history.model import Op

ENTRY_POINTS = ("audit_history", "audit")


def audit_outputs(candidate: Sequence[Op], incumbent: Sequence[Op]) -> tuple[str, str, list[dict[str, Any]]]:
    """(status, summary, findings) of auditing the candidate's history."""
    try:
        mod = importlib.import_module("harness.audit")
    except ModuleNotFoundError as e:
        if e.name and "harness.audit".startswith(e.name):
            return "skip", "skipped: harness.audit (the verification agents) is not installed", []
        raise
    fn = next((getattr(mod, n) for n in ENTRY_POINTS if callable(getattr(mod, n, None))), None)
    if fn is None:
        return "skip", f"skipped: harness.audit exposes none of {', '.join(ENTRY_POINTS)}(history)", []
    try:
        cand = [f for item in _items(fn(list(candidate))) for f in _read(item)]
        base = Counter(
            _key(f) for item in _items(fn(list(incumbent))) for f in _read(item) if f["severity"] == "error"
        )
    except Exception as e:  # the auditors' failure is not the candidate's
        return "warn", f"not counted: harness.audit.{fn.__name__} raised {type(e).__name__}: {e}", []
    new: list[dict[str, Any]] = []
    shared = 0
    for f in cand:
        if f["severity"] != "error":
            continue
        if base[_key(f)] > 0:
            base[_key(f)] -= 1
            shared += 1
        else:
            new.append(f)
    outputs = sum(
        1
        for o in candidate
        if o.f == "agent.output" and o.type == "ok" and not str(o.meta.get("agent", "")).endswith("-upstream")
    )
    summary = (
        f"{outputs} outputs audited by harness.audit.{fn.__name__}: {len(new)} new error finding(s)"
        f" ({shared} also found for the incumbent, not counted)"
    )
    return ("fail" if new else "pass"), summary, new


def _key(f: dict[str, Any]) -> tuple[str, str]:
    return f["kind"], f["where"]


def _items(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, dict) or not isinstance(result, Sequence | set):
        return [result]
    return list(result)


def _get(item: Any, name: str, default: Any = None) -> Any:
    return item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)


def _subject(item: Any) -> str:
    s = _get(item, "subject", None)
    if s is None:
        s = _get(item, "key", None)
    return str(s) if s is not None else "audit"


def _read(item: Any) -> list[dict[str, Any]]:
    valid = _get(item, "valid", None)
    if valid is not None:  # a Verdict
        name = str(_get(item, "checker", "audit"))
        if valid is True:
            return []
        sev = "error" if valid is False else "warning"
        anomalies = _get(item, "anomalies", ()) or ()
        if not anomalies:
            return [{"severity": sev, "kind": name, "where": "audit", "message": f"{name}: {valid}"}]
        return [
            {
                "severity": sev,
                "kind": str(_get(a, "kind", name)),
                "where": _subject(a),
                "message": str(_get(a, "message", "")),
            }
            for a in anomalies
        ]
    sev = str(_get(item, "severity", "error")).lower()
    return [
        {
            "severity": "error" if sev in ("error", "critical", "violation") else sev,
            "kind": str(_get(item, "kind", "finding")),
            "where": _subject(item),
            "message": str(_get(item, "message", item)),
        }
    ]
