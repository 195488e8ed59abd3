"""What an interrupted run leaves: its per-agent parts merged into one
history, whatever stopped it.

A run of agent processes records into ``RUN_DIR/parts/history.<agent>.jsonl``
(one writer each, a line per operation, written as it happens) and merges
them into ``RUN_DIR/history.jsonl`` when it ends. Interrupted by SIGINT or
SIGTERM, ``harness run`` merges what was recorded itself; killed outright
(SIGKILL), it leaves only the parts, and :func:`history_of` (which ``harness
check RUN_DIR`` and ``harness report RUN_DIR`` use) merges them then. A
part's last line cut short by the kill is left out and counted.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.history.jsonl import HistoryFormatError, dumps_op
from harness.history.model import Op

HISTORY = "history.jsonl"
PARTS = "parts"


@dataclass(frozen=True)
class Merged:
    """The merged history: its path, operations written, and lines left out
    (a last line cut short in some part)."""

    path: Path
    operations: int
    cut_lines: int = 0


def parts_of(run_dir: Path) -> list[Path]:
    return sorted((run_dir / PARTS).glob("history.*.jsonl"))


def merge_parts(run_dir: Path) -> Merged:
    """Merge ``run_dir``'s parts into ``run_dir/history.jsonl`` (written
    whole, then moved into place): ordered by time, re-indexed."""
    cut = [0]

    def ops(i: int, path: Path) -> Iterator[tuple[int, int, int, Op]]:
        with path.open("rb") as fh:
            lines = fh.read().split(b"\n")
        for j, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                op = Op.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError):
                if j >= len(lines) - 2:  # the last line, cut short when its writer died
                    cut[0] += 1
                    continue
                raise HistoryFormatError(f"{path}:{j + 1}: not an operation") from None
            yield (op.time, i, j, op)

    out = run_dir / HISTORY
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    with tmp.open("wb") as fh:
        for _, _, _, op in heapq.merge(*(ops(i, p) for i, p in enumerate(parts_of(run_dir)))):
            op.index = n
            fh.write(dumps_op(op))
            n += 1
    os.replace(tmp, out)
    return Merged(out, n, cut[0])


def history_of(path: str | Path) -> Path:
    """The history a path names: a history file as it is; a run directory's
    ``history.jsonl``, merged from its parts first when the run never merged
    them (it was killed). A one-line :class:`HistoryFormatError` when there
    is neither."""
    p = Path(path)
    if not p.is_dir():
        return p
    history = p / HISTORY
    parts = parts_of(p)
    if parts and (not history.exists() or history.stat().st_mtime < max(q.stat().st_mtime for q in parts)):
        return merge_parts(p).path
    if history.exists():
        return history
    raise HistoryFormatError(f"{p}: a directory with no {HISTORY} and no {PARTS}/history.*.jsonl")


__all__ = ["HISTORY", "PARTS", "Merged", "history_of", "merge_parts", "parts_of"]
