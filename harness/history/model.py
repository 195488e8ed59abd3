"""One operation of a history.

The vocabulary is Jepsen's: a process *invokes* an operation ``f`` and later
completes it as ``ok`` (it took effect), ``fail`` (it certainly did not) or
``info`` (its outcome is unknown: it may take effect at any time after the
invocation, or never). Completions are paired with invocations by ``process``:
a process has at most one outstanding operation.

Fields that *name* something are used as keys: a ``process`` is a scalar (a
list or an object there is read as its canonical JSON text, ``[1, 2]``
becomes the process ``"[1,2]"``), ``correlation_id`` and ``error`` are
strings (any other value is read as its JSON text, ``true`` becomes
``"true"``). So two equal names stay equal and a history never fails on an
unhashable or mistyped name. Values nest at most :data:`MAX_NESTING` levels
deep; a deeper one is a malformed history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

INVOKE = "invoke"
OK = "ok"
FAIL = "fail"
INFO = "info"
OP_TYPES = frozenset({INVOKE, OK, FAIL, INFO})

_CORE = ("index", "time", "process", "type", "f", "key", "value", "correlation_id", "error")

#: Lists and objects in a history nest at most this deep (checkers, reports
#: and encoders walk values recursively; real histories nest a few levels).
MAX_NESTING = 100


def nesting(value: Any, limit: int = MAX_NESTING) -> int:
    """How deep lists and objects nest in ``value`` (a scalar: 0, ``[]``: 1),
    counted without recursion and only up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list | tuple):
            children = v
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return deepest


def as_text(value: Any) -> str | None:
    """``value`` as a string field (a correlation id, an error): None and
    strings as they are, anything else as its canonical JSON text."""
    if value is None or type(value) is str:
        return value
    name = as_name(value)
    if isinstance(name, str):
        return str.__str__(name)
    try:
        return orjson.dumps(name).decode()
    except TypeError:
        return repr(name)


def as_name(value: Any) -> Any:
    """``value`` as a hashable name (a process, an EDN map key): scalars as
    they are, a list or an object as its canonical JSON text (keys sorted)."""
    t = type(value)
    if t is str or t is int or value is None:
        return value
    if not isinstance(value, list | dict | tuple | set):
        try:
            hash(value)
        except TypeError:
            return repr(value)
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # a value JSON cannot hold (a 100-digit integer, mixed key types)
        return repr(value)


@dataclass(slots=True)
class Op:
    """A single history event.

    ``time`` is in nanoseconds since the start of the run. ``key`` names the
    object the operation acts on (a queue, a table item, an effect's logical
    operation); ``value`` carries its arguments or its result. ``meta`` holds
    anything else (agent, service, receive counts, ...).
    """

    index: int
    time: int
    process: str | int
    type: str
    f: str
    key: Any = None
    value: Any = None
    correlation_id: str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_invoke(self) -> bool:
        return self.type == INVOKE

    @property
    def is_completion(self) -> bool:
        return self.type != INVOKE

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.type,
            "f": self.f,
        }
        if self.key is not None:
            d["key"] = self.key
        if self.value is not None:
            d["value"] = self.value
        if self.correlation_id is not None:
            d["correlation_id"] = self.correlation_id
        if self.error is not None:
            d["error"] = self.error
        if self.meta:
            d.update(self.meta)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Op:
        """Build an operation from a decoded JSON object; raises ValueError on bad shape."""
        missing = [k for k in ("index", "process", "type", "f") if k not in d]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        if not isinstance(d["type"], str) or d["type"] not in OP_TYPES:
            raise ValueError(f"type must be one of invoke|ok|fail|info, got {d['type']!r}")
        index = d["index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError(f"index must be an integer, got {index!r}")
        t = d.get("time", 0)
        if not isinstance(t, int) or isinstance(t, bool):
            raise ValueError(f"time must be an integer (nanoseconds), got {t!r}")
        if not isinstance(d["f"], str):
            raise ValueError(f"f must be a string, got {d['f']!r}")
        meta = {k: v for k, v in d.items() if k not in _CORE}
        return cls(
            index=index,
            time=t,
            process=as_name(d["process"]),
            type=d["type"],
            f=d["f"],
            key=d.get("key"),
            value=d.get("value"),
            correlation_id=as_text(d.get("correlation_id")),
            error=as_text(d.get("error")),
            meta=meta,
        )


@dataclass(slots=True)
class Pair:
    """An invocation with its completion (``None`` when the history ended first)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """``ok``, ``fail`` or ``info``; an invocation never completed counts as ``info``."""
        return self.complete.type if self.complete is not None else INFO

    @property
    def value(self) -> Any:
        if self.complete is not None and self.complete.value is not None:
            return self.complete.value
        return self.invoke.value


def pair_operations(ops: Iterable[Op]) -> Iterator[Pair]:
    """Pair each invocation with its completion by process, in invocation order.

    A completion with no open invocation on its process is reported as a pair
    of itself (``invoke`` is the completion) so that nothing is silently lost.
    """
    open_by_process: dict[Any, int] = {}
    pairs: list[Pair] = []
    for op in ops:
        proc = op.process
        if type(proc) is not int and type(proc) is not str:
            proc = as_name(proc)  # an Op built in memory may hold any value
        if op.type == INVOKE:
            open_by_process[proc] = len(pairs)
            pairs.append(Pair(op, None))
        else:
            i = open_by_process.pop(proc, None)
            if i is None:
                pairs.append(Pair(op, op))
            else:
                pairs[i].complete = op
    return iter(pairs)
