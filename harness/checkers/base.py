"""Streaming checkers and the single pass that feeds several of them at once.

A streaming checker tells the runner which operations it wants (by ``f``) and
returns a handler for them; the runner reads the history once, pairs each
completion with its invocation (by process) and calls the handlers. So checking
several properties costs one parse and one pass, and memory holds only the
checkers' own state, never the history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from harness.checkers.verdict import Verdict
from harness.history.model import INFO, INVOKE, Op, as_name

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


NO_COMPLETION = "no completion"
"""The ``error`` of the ``info`` completion given to an invocation that never completed."""


def unknown_outcome(inv: Op) -> Op:
    """The ``info`` completion that stands for an invocation that never completed
    (Jepsen: its outcome is unknown; it may take effect at any time, or never).
    It carries the invocation's index, so witnesses name an operation of the history."""
    return Op(
        inv.index,
        inv.time,
        inv.process,
        INFO,
        inv.f,
        inv.key,
        None,
        inv.correlation_id,
        NO_COMPLETION,
        inv.meta,
    )


def run_checkers(history: Iterable[Op], checkers: Sequence[StreamingChecker]) -> list[Verdict]:
    """Feed ``history`` to every checker in one pass; one verdict per checker, in order.

    An invocation that never completes (its process crashed, invoked something
    else next, or the history ended) is handed to the handlers with an ``info``
    completion (see :func:`unknown_outcome`), as Jepsen treats it: at the point
    where it was superseded, or at the end of the history."""
    table: dict[str, tuple[Handler, ...]] = {}
    open_by_process: dict[Any, Op] = {}
    get = table.get
    pop = open_by_process.pop

    def handlers_for(f: str) -> tuple[Handler, ...]:
        hs = get(f)
        if hs is None:
            hs = table[f] = tuple(h for c in checkers if (h := c.handler(f)) is not None)
        return hs

    def abandon(inv: Op) -> None:
        hs = handlers_for(inv.f)
        if hs:
            info = unknown_outcome(inv)
            for h in hs:
                h(info, inv)

    for op in history:
        handlers = get(op.f)
        if handlers is None:
            handlers = handlers_for(op.f)
        proc = op.process
        if type(proc) is not int and type(proc) is not str:
            proc = as_name(proc)  # histories read from files hold scalars; an Op built in memory may not
        if op.type == INVOKE:
            prev = pop(proc, None)
            if prev is not None:
                abandon(prev)
            open_by_process[proc] = op
            for h in handlers:
                h(op, None)
        else:
            inv = pop(proc, None)
            if inv is not None and inv.f != op.f:
                # a completion of a different operation: the invocation never completed
                abandon(inv)
                inv = None
            for h in handlers:
                h(op, inv)
    for inv in list(open_by_process.values()):
        abandon(inv)
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


class DedupWindow:
    """The deduplication interval of SQS FIFO queues: which deduplication keys
    were first sent less than ``seconds`` ago (history time, in nanoseconds).

    Entries expire as time passes, so memory holds only the keys sent within
    the window."""

    __slots__ = ("window", "first", "order")

    def __init__(self, seconds: float) -> None:
        self.window = int(seconds * 1e9)
        self.first: dict[Any, tuple[int, Any]] = {}  # key -> (time first sent, value)
        self.order: deque[tuple[int, Any]] = deque()

    def get(self, key: Any, time: int) -> Any:
        """The value stored for ``key`` if it was put within the window before ``time``, else None."""
        self._expire(time)
        entry = self.first.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: Any, time: int, value: Any) -> None:
        self.first[key] = (time, value)
        self.order.append((time, key))

    def _expire(self, now: int) -> None:
        limit = now - self.window
        order, first = self.order, self.first
        while order and order[0][0] < limit:
            t, key = order.popleft()
            entry = first.get(key)
            if entry is not None and entry[0] == t:
                del first[key]
