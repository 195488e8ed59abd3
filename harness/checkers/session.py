"""Session guarantees per agent: read-your-writes and monotonic reads.

A session is an agent (the ``agent`` field, else the process). Versioned
DynamoDB items are compared by ``version`` (an absent item reads as version 0):

- ``stale_read`` (read-your-writes): a read returned a version older than one
  the same session had written, and had seen acknowledged, before the read was
  invoked;
- ``non_monotonic_read``: a read returned a version older than one the same
  session had already read (completed before this read was invoked).

Eventually consistent reads (``consistent: false``) are included by default:
AWS allows them to be stale, and this checker exists to show where an agent
depends on them not being. ``consistent_only=True`` checks strong reads only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, as_int, hashable, run_checker
from harness.checkers.verdict import Anomaly, AnomalyLog, Verdict
from harness.history.model import INVOKE, OK, Op

NAME = "session"


class SessionChecker:
    """Streaming session-guarantee checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        reads: Iterable[str] = c.DDB_READS,
        writes: Iterable[str] = c.DDB_WRITES - {c.DDB_DELETE},
        session_field: str = c.AGENT,
        consistent_only: bool = False,
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in reads:
            self._handlers[f] = self._on_read
        for f in writes:
            self._handlers[f] = self._on_write
        self.session_field = session_field
        self.consistent_only = consistent_only
        self.log = AnomalyLog(max_anomalies)
        # (session, key) -> (version, op index) of the session's latest acknowledged write / read
        self.written: dict[tuple[Any, Any], tuple[int, int]] = {}
        self.read: dict[tuple[Any, Any], tuple[int, int]] = {}
        # process -> floors at invocation: (written, read)
        self.at_invoke: dict[Any, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {}
        self.reads_checked = 0
        self.reads_skipped = 0

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    def _session(self, op: Op) -> Any:
        return hashable(op.meta.get(self.session_field, op.process))

    def _on_write(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        version = as_int(as_dict(op.value).get(c.VERSION))
        if version is None and inv is not None:
            version = as_int(as_dict(inv.value).get(c.VERSION))
        if version is None:
            return
        sk = (self._session(op), hashable(op.key))
        cur = self.written.get(sk)
        if cur is None or version > cur[0]:
            self.written[sk] = (version, op.index)

    def _on_read(self, op: Op, inv: Op | None) -> None:
        sk = (self._session(op), hashable(op.key))
        if op.type == INVOKE:
            self.at_invoke[op.process] = (self.written.get(sk), self.read.get(sk))
            return
        floors = self.at_invoke.pop(op.process, None)
        if op.type != OK:
            return
        v = as_dict(op.value)
        consistent = bool(v.get(c.CONSISTENT, as_dict(inv.value).get(c.CONSISTENT) if inv else False))
        version = as_int(v.get(c.VERSION))
        if version is None:
            if c.ITEM in v and v.get(c.ITEM) is None:
                version = 0  # the item does not exist
            else:
                self.reads_skipped += 1
                return
        if self.consistent_only and not consistent:
            self.reads_skipped += 1
            return
        self.reads_checked += 1
        wrote, seen = floors if floors is not None else (None, None)
        kind = "strongly" if consistent else "eventually"
        if wrote is not None and version < wrote[0]:
            self.log.add(
                Anomaly(
                    kind="stale_read",
                    ops=(wrote[1], op.index),
                    message=(
                        f"{sk[0]!r} read {op.key!r} at version {version} ({kind} consistent, op {op.index}) "
                        f"after its own write of version {wrote[0]} was acknowledged (op {wrote[1]})"
                    ),
                    key=op.key,
                    details={
                        "session": sk[0],
                        "read": version,
                        "written": wrote[0],
                        "consistent": consistent,
                    },
                )
            )
        elif seen is not None and version < seen[0]:
            self.log.add(
                Anomaly(
                    kind="non_monotonic_read",
                    ops=(seen[1], op.index),
                    message=(
                        f"{sk[0]!r} read {op.key!r} at version {version} ({kind} consistent, op {op.index}) "
                        f"after having read version {seen[0]} (op {seen[1]})"
                    ),
                    key=op.key,
                    details={
                        "session": sk[0],
                        "read": version,
                        "previous": seen[0],
                        "consistent": consistent,
                    },
                )
            )
        cur = self.read.get(sk)
        if cur is None or version > cur[0]:
            self.read[sk] = (version, op.index)

    def finish(self) -> Verdict:
        stats = {
            "sessions": len({s for s, _ in self.written} | {s for s, _ in self.read}),
            "reads_checked": self.reads_checked,
            "reads_skipped": self.reads_skipped,
        }
        return self.log.verdict(NAME, stats)


def check_session(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check read-your-writes and monotonic reads per agent (see the module docstring)."""
    return run_checker(history, SessionChecker(**spec))


__all__ = ["NAME", "SessionChecker", "check_session"]
