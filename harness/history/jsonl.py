"""Streaming JSONL reader and writer for histories (one operation per line)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from harness.history.model import MAX_NESTING, Op, nesting


class HistoryFormatError(ValueError):
    """A history file that cannot be read; the message names the file and line."""


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(f"cannot serialise {type(obj).__name__}")


_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS


def dumps_op(op: Op) -> bytes:
    """One operation as a JSON line (with its trailing newline). Keys are sorted so
    equal histories are equal byte for byte."""
    return orjson.dumps(op.to_dict(), default=_default, option=_OPTS | orjson.OPT_APPEND_NEWLINE)


def iter_history(path: str | Path) -> Iterator[Op]:
    """Yield the operations of a JSONL history one at a time.

    Blank lines are skipped. A malformed line (not JSON, not an operation, or
    nested deeper than :data:`~harness.history.model.MAX_NESTING`) raises
    HistoryFormatError naming the file and the line number.
    """
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as e:
        raise HistoryFormatError(f"{p}: cannot open: {e.strerror}") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise HistoryFormatError(f"{p}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise HistoryFormatError(f"{p}:{lineno}: expected a JSON object per line")
            # the operation is one level, its values the rest; a line nests at most
            # as deep as it has brackets, so count those first (cheap)
            if (
                line.count(b"[") + line.count(b"{") > MAX_NESTING + 1
                and nesting(obj, MAX_NESTING + 1) > MAX_NESTING + 1
            ):
                raise HistoryFormatError(f"{p}:{lineno}: a value nested deeper than {MAX_NESTING} levels")
            try:
                yield Op.from_dict(obj)
            except ValueError as e:
                raise HistoryFormatError(f"{p}:{lineno}: {e}") from None


def read_history(path: str | Path) -> list[Op]:
    """Read a whole JSONL history."""
    return list(iter_history(path))


def write_history(ops: Iterable[Op], path: str | Path | IO[bytes]) -> int:
    """Write operations as JSONL; returns the number written."""
    n = 0
    if hasattr(path, "write"):
        for op in ops:
            path.write(dumps_op(op))  # type: ignore[union-attr]
            n += 1
        return n
    with Path(path).open("wb") as fh:  # type: ignore[arg-type]
        for op in ops:
            fh.write(dumps_op(op))
            n += 1
    return n


def merge_files(paths: Iterable[str | Path], out: str | Path) -> int:
    """Merge per-process histories into one, ordered by time, and re-index it.

    Each input is already in time order (one recorder each), so this is a
    streaming k-way merge. Ties are broken by input order, then line order.
    Returns the number of operations written.
    """

    def keyed(i: int, p: str | Path) -> Iterator[tuple[int, int, int, Op]]:
        for j, op in enumerate(iter_history(p)):
            yield (op.time, i, j, op)

    streams = [keyed(i, p) for i, p in enumerate(paths)]
    n = 0
    with Path(out).open("wb") as fh:
        for _, _, _, op in heapq.merge(*streams):
            op.index = n
            fh.write(dumps_op(op))
            n += 1
    return n
