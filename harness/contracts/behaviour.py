"""A structured behavioural diff between the incumbent and a candidate on
the same inputs: outcome, side effects, token use, and the shape and values
of the output.

Side effects are compared per input, i.e. per logical operation (the
subtask): the kinds performed and how many of each. Their keys are each
implementation's own idempotency-key scheme and are not compared (a key
that changes per delivery is the golden step's ``duplicate_effect``).

Findings carry a severity: ``error`` (not safe to swap: an input the
incumbent handled now fails, side effects differ, token use blows up),
``warning`` (worth a look: a field the incumbent filled is gone or changed
type), ``info`` (expected of a new implementation: other values, fewer
tokens).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.contracts.sandbox import OK, Outcome

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Pair:
    """One input and what each implementation made of it."""

    label: str
    incumbent: Outcome
    candidate: Outcome


def shape(value: Any, path: str = "$") -> dict[str, str]:
    """JSON path -> JSON type of every node (array items merged under ``[*]``)."""
    out = {path: _type(value)}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(shape(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for v in value:
            for p, t in shape(v, f"{path}[*]").items():
                out[p] = t if out.get(p, t) == t else "mixed"
    return out


def _type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def leaves(value: Any, path: str = "$") -> dict[str, Any]:
    if isinstance(value, dict):
        return {p: x for k, v in value.items() for p, x in leaves(v, f"{path}.{k}").items()}
    if isinstance(value, list):
        return {p: x for i, v in enumerate(value) for p, x in leaves(v, f"{path}[{i}]").items()}
    return {path: value}


def compare(
    pairs: Sequence[Pair], max_token_ratio: float = 2.0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(findings, statistics) over every pair."""
    findings: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    for p in pairs:
        inc, cand = p.incumbent, p.candidate
        stats["inputs"] += 1
        stats["incumbent_tokens"] += inc.tokens
        stats["candidate_tokens"] += cand.tokens
        if inc.status == OK and cand.status != OK:
            findings.append(
                _f(
                    ERROR,
                    "status_regression",
                    p.label,
                    f"incumbent ok, candidate {cand.status}: {cand.reason}",
                )
            )
        elif inc.status != OK and cand.status == OK:
            findings.append(
                _f(INFO, "status_improved", p.label, f"incumbent {inc.status} ({inc.reason}), candidate ok")
            )
        elif inc.status != cand.status:
            findings.append(
                _f(WARNING, "status_changed", p.label, f"incumbent {inc.status}, candidate {cand.status}")
            )
        if inc.status == cand.status and _kinds(inc) != _kinds(cand):
            findings.append(_effects(p))
        if inc.status == OK and cand.status == OK:
            stats["compared_outputs"] += 1
            findings += _outputs(p, stats)
    inc_t, cand_t = stats["incumbent_tokens"], stats["candidate_tokens"]
    if inc_t and cand_t > max_token_ratio * inc_t:
        msg = f"candidate used {cand_t} tokens where the incumbent used {inc_t} (> {max_token_ratio:g}x)"
        findings.append(_f(ERROR, "token_use", "all inputs", msg))
    elif inc_t and cand_t != inc_t:
        findings.append(_f(INFO, "token_use", "all inputs", f"candidate {cand_t} tokens, incumbent {inc_t}"))
    return findings, dict(stats)


def _kinds(o: Outcome) -> Counter[str]:
    """How many side effects of each kind one delivery performed."""
    return Counter(kind for kind, _ in o.effects)


def _effects(p: Pair) -> dict[str, Any]:
    """The kinds performed a different number of times; ``missing`` and
    ``extra`` name the (kind, key) effects beyond the other's count."""
    inc, cand = _keys(p.incumbent), _keys(p.candidate)
    missing = sorted((k, key) for k, keys in inc.items() for key in keys[len(cand.get(k, [])) :])
    extra = sorted((k, key) for k, keys in cand.items() for key in keys[len(inc.get(k, [])) :])
    counts = [
        f"{kind} {len(cand.get(kind, []))} time(s) where the incumbent performs it {len(inc.get(kind, []))}"
        for kind in sorted(set(inc) | set(cand))
        if len(inc.get(kind, [])) != len(cand.get(kind, []))
    ]
    shown = [f"missing {k}({key})" for k, key in missing] + [f"extra {k}({key})" for k, key in extra]
    message = f"candidate performs {', '.join(counts)} ({', '.join(shown)})"
    return _f(ERROR, "effects_differ", p.label, message, missing=missing, extra=extra)


def _keys(o: Outcome) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, key in o.effects:
        out.setdefault(kind, []).append(key)
    return out


def _outputs(p: Pair, stats: Counter[str]) -> list[dict[str, Any]]:
    out = []
    si, sc = shape(p.incumbent.output), shape(p.candidate.output)
    for path in sorted(set(si) - set(sc)):
        if _parent(path) in sc:  # report the top-most missing node only
            out.append(
                _f(WARNING, "field_dropped", p.label, f"{path} ({si[path]}) is no longer produced", path=path)
            )
    for path in sorted(set(si) & set(sc)):
        if si[path] != sc[path] and "null" not in (si[path], sc[path]):
            out.append(
                _f(WARNING, "field_type_changed", p.label, f"{path}: {si[path]} -> {sc[path]}", path=path)
            )
    added = sorted(x for x in set(sc) - set(si) if _parent(x) in si)
    if added:
        out.append(_f(INFO, "fields_added", p.label, "new: " + ", ".join(added)))
    li, lc = leaves(p.incumbent.output), leaves(p.candidate.output)
    changed = sum(1 for k in set(li) | set(lc) if li.get(k, object()) != lc.get(k, object()))
    stats["changed_values"] += changed
    if changed == 0:
        stats["identical_outputs"] += 1
    return out


def _parent(path: str) -> str:
    return path[:-3] if path.endswith("[*]") else path.rsplit(".", 1)[0]


def _f(severity: str, kind: str, where: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"severity": severity, "kind": kind, "where": where, "message": message, **extra}
