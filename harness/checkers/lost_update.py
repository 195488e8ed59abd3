"""Lost updates: on versioned items, an acknowledged write is never silently
overwritten.

DynamoDB writes carry the item's new ``version`` and, when conditional, the
``expect_version`` they require (key = ``<table>/<pk>``). For each item:

- two acknowledged writes that produced the same version -> ``version_repeat``:
  one overwrote the other without noticing (read-modify-write without a working
  condition);
- an acknowledged write without any condition whose version is not above a
  version already acknowledged before it was invoked -> ``stale_overwrite``;
- a conditional write acknowledged although its expected version was already
  superseded before it was invoked -> ``stale_condition``;
- versions acknowledged with a hole between them that no write of unknown
  outcome explains -> ``version_gap``;
- an acknowledged unconditional write to a versioned item -> ``unconditional_write``
  (a warning: the pattern that loses updates under concurrency).

``tables`` (name globs, e.g. the declared versioned tables) limits the check
to those tables' items; by default every write that carries a version is
judged. What counts as the version (the attribute, the placeholder of the
expected value) is declared at recording time
(:func:`harness.instrument.extract.declare_versioned`): the history always
carries it as ``version`` / ``expect_version``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, as_int, hashable, run_checker
from harness.checkers.verdict import WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

NAME = "lost-update"


class _Item:
    __slots__ = ("acked", "maybe", "max_acked")

    def __init__(self) -> None:
        self.acked: dict[int, int] = {}  # version -> index of the acknowledging completion
        self.maybe: set[int] = set()  # versions of writes with unknown outcome
        self.max_acked = -1


class LostUpdateChecker:
    """Streaming lost-update checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        writes: Iterable[str] = c.DDB_WRITES - {c.DDB_DELETE},
        check_gaps: bool = True,
        tables: Iterable[str] | None = None,
        max_anomalies: int = 1000,
    ) -> None:
        self.writes = frozenset(writes)
        if isinstance(tables, str):
            tables = (tables,)
        self.tables = None if tables is None else tuple(tables)
        self._in_scope: dict[str, bool] = {}  # table -> judged
        self.check_gaps = check_gaps
        self.log = AnomalyLog(max_anomalies)
        self.items: dict[Any, _Item] = {}
        self.max_at_invoke: dict[Any, int] = {}  # process -> max acknowledged version of its key at invoke
        self.acked_writes = 0
        self.unversioned = 0

    def handler(self, f: str) -> Handler | None:
        return self._on_write if f in self.writes else None

    def _judged(self, key: Any) -> bool:
        if self.tables is None:
            return True
        table = str(key).partition("/")[0]
        ok = self._in_scope.get(table)
        if ok is None:
            ok = self._in_scope[table] = any(fnmatchcase(table, g) for g in self.tables)
        return ok

    def _on_write(self, op: Op, inv: Op | None) -> None:
        key = hashable(op.key)
        if not self._judged(key):
            return
        t = op.type
        if t == INVOKE:
            item = self.items.get(key)
            self.max_at_invoke[op.process] = item.max_acked if item is not None else -1
            return
        before = self.max_at_invoke.pop(op.process, -1)
        if t != OK and t != INFO:
            return
        iv = as_dict(inv.value) if inv is not None else {}
        v = as_dict(op.value)
        version = as_int(v.get(c.VERSION))
        if version is None:
            version = as_int(iv.get(c.VERSION))
        if version is None:
            self.unversioned += 1
            return
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = _Item()
        if t == INFO:
            item.maybe.add(version)
            return
        self.acked_writes += 1
        expect = as_int(iv.get(c.EXPECT_VERSION))
        conditional = expect is not None or iv.get(c.CONDITION) is not None
        writes = (inv.index, op.index) if inv is not None else (op.index,)
        prev = item.acked.get(version)
        if prev is not None:
            self.log.add(
                Anomaly(
                    kind="version_repeat",
                    ops=(prev, *writes),
                    message=(
                        f"{op.key!r}: two acknowledged writes produced version {version} "
                        f"(ops {prev} and {op.index}); one silently overwrote the other"
                    ),
                    key=op.key,
                    details={"version": version},
                )
            )
        elif not conditional and version <= before:
            self.log.add(
                Anomaly(
                    kind="stale_overwrite",
                    ops=(item.acked.get(before, -1), *writes),
                    message=(
                        f"{op.key!r}: an unconditional write of version {version} (op {op.index}) replaced "
                        f"version {before}, acknowledged before it was invoked"
                    ),
                    key=op.key,
                    details={"version": version, "overwritten": before},
                )
            )
        elif expect is not None and expect < before:
            self.log.add(
                Anomaly(
                    kind="stale_condition",
                    ops=(item.acked.get(before, -1), *writes),
                    message=(
                        f"{op.key!r}: a write expecting version {expect} (op {op.index}) was acknowledged "
                        f"although version {before} was acknowledged before it was invoked"
                    ),
                    key=op.key,
                    details={"expected": expect, "current": before},
                )
            )
        elif not conditional:
            self.log.add(
                Anomaly(
                    kind="unconditional_write",
                    ops=writes,
                    message=f"{op.key!r}: versioned item written without a condition (op {op.index})",
                    key=op.key,
                    severity=WARNING,
                    details={"version": version},
                )
            )
        if prev is None:
            item.acked[version] = op.index
        if version > item.max_acked:
            item.max_acked = version

    def finish(self) -> Verdict:
        if self.check_gaps:
            for key, item in self.items.items():
                if len(item.acked) < 2:
                    continue
                versions = sorted(item.acked)
                for lo, hi in zip(versions, versions[1:], strict=False):
                    missing = [x for x in range(lo + 1, hi) if x not in item.maybe]
                    if missing:
                        self.log.add(
                            Anomaly(
                                kind="version_gap",
                                ops=(item.acked[lo], item.acked[hi]),
                                message=(
                                    f"{key!r}: acknowledged versions jump from {lo} to {hi}; no recorded "
                                    f"write produced {', '.join(map(str, missing[:5]))}"
                                ),
                                key=key,
                                details={"from": lo, "to": hi, "missing": missing[:20]},
                            )
                        )
        stats = {
            "items": len(self.items),
            "acknowledged_writes": self.acked_writes,
            "unversioned_writes": self.unversioned,
        }
        return self.log.verdict(NAME, stats)


def check_lost_update(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that acknowledged writes to versioned items are never silently overwritten."""
    return run_checker(history, LostUpdateChecker(**spec))


__all__ = ["NAME", "LostUpdateChecker", "check_lost_update"]
