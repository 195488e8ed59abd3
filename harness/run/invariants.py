"""The first invariants of a run, shared by `harness run` and the simulator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.history.model import Op

TERMINAL_TASK_STATES = frozenset({"done", "failed"})


@dataclass(frozen=True)
class Invariant:
    name: str
    holds: bool
    detail: str


def all_terminal(
    submitted: Iterable[str], states: Mapping[str, str], terminal: Iterable[str] | None = None
) -> Invariant:
    """Every submitted request reached a terminal state (``terminal``: those
    the system declares; default done and failed)."""
    ids = list(submitted)
    ends = frozenset(terminal) if terminal is not None else TERMINAL_TASK_STATES
    unfinished = sorted(t for t in ids if states.get(t) not in ends)
    holds = not unfinished
    detail = (
        f"all {len(ids)} requests ended ({', '.join(sorted(ends))})"
        if holds
        else f"{len(unfinished)} of {len(ids)} unfinished, e.g. {', '.join(unfinished[:3])}"
    )
    return Invariant("every request reached a terminal state", holds, detail)


def no_double_effects(ops: Iterable[Op]) -> Invariant:
    """No declared side effect happened twice for one logical operation."""
    counts: Counter[tuple[str, str]] = Counter(
        (op.f, str(op.key)) for op in ops if op.type == "ok" and op.f.startswith("effect.")
    )
    twice = sorted((f, k, n) for (f, k), n in counts.items() if n > 1)
    detail = (
        f"{sum(counts.values())} effects, each once"
        if not twice
        else f"{len(twice)} effects repeated, e.g. {twice[0][0]} {twice[0][1]} x{twice[0][2]}"
    )
    return Invariant("no effect was performed twice", not twice, detail)
