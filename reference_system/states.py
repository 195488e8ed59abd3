"""The task and subtask state machine."""

from __future__ import annotations

from typing import Literal

State = Literal["pending", "dispatched", "running", "done", "failed", "dead_lettered"]

TERMINAL: frozenset[str] = frozenset({"done", "failed", "dead_lettered"})

#: Allowed transitions; anything else is a bug (and the ordering checker says so).
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"dispatched", "failed"}),
    "dispatched": frozenset({"running", "failed", "dead_lettered"}),
    "running": frozenset({"done", "failed", "dead_lettered"}),
    "done": frozenset(),
    "failed": frozenset(),
    "dead_lettered": frozenset(),
}


class InvalidTransition(ValueError):
    pass


def precedes(earlier: str, later: str) -> bool:
    """Whether the state machine can reach ``later`` from ``earlier`` (in one or
    more moves): a move to ``earlier`` found the item at ``later`` is stale."""
    seen, frontier = {earlier}, [earlier]
    while frontier:
        for nxt in TRANSITIONS.get(frontier.pop(), frozenset()):
            if nxt == later:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def check_transition(frm: str, to: str) -> None:
    if to not in TRANSITIONS.get(frm, frozenset()):
        raise InvalidTransition(f"{frm} -> {to} is not an allowed transition")
