"""Streaming checkers and the single pass that feeds several of them at once.

A streaming checker tells the runner which operations it wants (by ``f``) and
returns a handler for them; the runner reads the history once, pairs each
completion with its invocation (by process) and calls the handlers. So checking
several properties costs one parse and one pass, and memory holds only the
checkers' own state, never the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from harness.checkers.verdict import Verdict
from harness.history.model import INVOKE, Op

Handler = Callable[[Op, "Op | None"], None]
"""Called with an operation and, for a completion, its invocation (None if none)."""


class StreamingChecker(Protocol):
    """A checker that consumes a history one operation at a time."""

    name: str

    def handler(self, f: str) -> Handler | None:
        """The handler for operations named ``f``, or None to ignore them."""
        ...

    def finish(self) -> Verdict:
        """The verdict once the whole history has been seen."""
        ...


def run_checkers(history: Iterable[Op], checkers: Sequence[StreamingChecker]) -> list[Verdict]:
    """Feed ``history`` to every checker in one pass; one verdict per checker, in order."""
    table: dict[str, tuple[Handler, ...]] = {}
    open_by_process: dict[Any, Op] = {}
    get = table.get
    pop = open_by_process.pop
    for op in history:
        handlers = get(op.f)
        if handlers is None:
            handlers = tuple(h for c in checkers if (h := c.handler(op.f)) is not None)
            table[op.f] = handlers
        if op.type == INVOKE:
            open_by_process[op.process] = op
            for h in handlers:
                h(op, None)
        else:
            inv = pop(op.process, None)
            if inv is not None and inv.f != op.f:
                # a completion of a different operation: the invocation stays unmatched
                inv = None
            for h in handlers:
                h(op, inv)
    return [c.finish() for c in checkers]


def run_checker(history: Iterable[Op], checker: StreamingChecker) -> Verdict:
    """Feed ``history`` to one checker."""
    return run_checkers(history, [checker])[0]


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one (checkers never crash on odd values)."""
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    """``value`` as an int if it is one (bools excluded), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def hashable(value: Any) -> Any:
    """A hashable stand-in for a JSON value (lists and dicts become tuples)."""
    t = type(value)
    if t is str or t is int or value is None:
        return value
    if t is list:
        return tuple(hashable(v) for v in value)
    if t is dict:
        return tuple(sorted((str(k), hashable(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
