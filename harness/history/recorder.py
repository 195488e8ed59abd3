"""A thread-safe recorder that appends operations to memory and, optionally, to a
JSONL file as they happen (so a crash loses at most the line being written).

Every operation is redacted before it is kept, written or shown to a listener:
secrets in its key, value, error and other fields are replaced by markers
(see :mod:`harness.redaction`), so no secret reaches a history file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from harness.history.jsonl import dumps_op
from harness.history.model import INVOKE, Op
from harness.redaction import Redactor, default_redactor

Clock = Callable[[], int]


def wall_clock(start_ns: int | None = None) -> Clock:
    """Nanoseconds since ``start_ns`` (default: now) on the system-wide clock, so
    recorders in different processes given the same start agree."""
    t0 = time.time_ns() if start_ns is None else start_ns
    return lambda: time.time_ns() - t0


class Recorder:
    """Collects operations. ``path`` streams each one to a JSONL file;
    ``keep=False`` keeps nothing in memory (long runs). ``redactor``: how
    operations are redacted (default: the process's, from the settings;
    ``Redactor.off()`` records values as given)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        clock: Clock | None = None,
        keep: bool = True,
        redactor: Redactor | None = None,
    ) -> None:
        self._clock = clock or wall_clock()
        self._redactor = redactor
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._keep = keep
        self._next = 0
        self._fh: IO[bytes] | None = None
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("ab", buffering=0)
        self._listeners: list[Callable[[Op], None]] = []

    @property
    def redactor(self) -> Redactor:
        return self._redactor or default_redactor()

    @property
    def clock(self) -> Clock:
        return self._clock

    def add_listener(self, fn: Callable[[Op], None]) -> None:
        """Call ``fn`` with every operation as it is recorded."""
        self._listeners.append(fn)

    def record(
        self,
        process: str | int,
        type: str,
        f: str,
        key: Any = None,
        value: Any = None,
        *,
        correlation_id: str | None = None,
        error: str | None = None,
        **meta: Any,
    ) -> Op:
        r = self._redactor or default_redactor()
        if r.enabled:
            process, key, value = r.value(process), r.value(key), r.value(value)
            correlation_id, error, meta = r.value(correlation_id), r.value(error), r.value(meta)
        with self._lock:
            op = Op(
                index=self._next,
                time=self._clock(),
                process=process,
                type=type,
                f=f,
                key=key,
                value=value,
                correlation_id=correlation_id,
                error=error,
                meta=meta,
            )
            self._next += 1
            if self._keep:
                self._ops.append(op)
            if self._fh is not None:
                self._fh.write(dumps_op(op))
        for fn in self._listeners:
            fn(op)
        return op

    def invoke(self, process: str | int, f: str, key: Any = None, value: Any = None, **kw: Any) -> Op:
        return self.record(process, INVOKE, f, key, value, **kw)

    @property
    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return self._next

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
