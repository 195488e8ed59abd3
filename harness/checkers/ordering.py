"""Ordering: FIFO message groups deliver in send order, and every task's state
transitions follow the allowed state machine.

*FIFO groups.* A send that completed ``ok`` before another send to the same
queue and message group was invoked must be received first. When a message is
received for the first time while an earlier one of its group has not been
received yet, that is ``reordered`` (reported once per skipped message). Only
messages whose send definitely happened count; memory holds the messages in
flight, not the history.

*Task states.* ``state.transition`` operations (key = task id, value
``{"from", "to"}``) that completed ``ok`` must each be an allowed transition
(``illegal_transition``, e.g. done -> running) starting from the task's current
state (``wrong_from_state``). A transition of unknown outcome leaves the task in
either state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, hashable, run_checker
from harness.checkers.verdict import Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

NAME = "ordering"


class _Group:
    __slots__ = ("completed", "window", "base", "received")

    def __init__(self) -> None:
        self.completed = 0  # sends completed ok so far (the next ordinal)
        self.window: deque[tuple[Any, int]] = deque()  # (message id, send ok index) from ordinal base
        self.base = 0
        self.received: set[int] = set()  # ordinals >= base already received


class OrderingChecker:
    """Streaming ordering checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        send: Iterable[str] = (c.SQS_SEND,),
        receive: Iterable[str] = (c.SQS_RECEIVE,),
        transition: Iterable[str] = (c.STATE_TRANSITION,),
        allowed: Iterable[tuple[str, str]] = c.ALLOWED_TRANSITIONS,
        initial_state: str | None = c.INITIAL_STATE,
        fifo_suffix: str = ".fifo",
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in send:
            self._handlers[f] = self._on_send
        for f in receive:
            self._handlers[f] = self._on_receive
        for f in transition:
            self._handlers[f] = self._on_transition
        self.allowed = frozenset(allowed)
        self.initial_state = initial_state
        self.fifo_suffix = fifo_suffix
        self.log = AnomalyLog(max_anomalies)
        self.groups: dict[tuple[Any, Any], _Group] = {}
        self.pending_send: dict[Any, int] = {}  # process -> completed count at invocation
        self.inflight: dict[
            Any, tuple[tuple[Any, Any], int, int, int]
        ] = {}  # mid -> (group, ordinal, pre, send idx)
        self.tasks: dict[Any, Any] = {}  # task -> state, or frozenset of possible states
        self._names: dict[Any, Any] = {}
        self.fifo_messages = 0
        self.transitions = 0

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    # -- FIFO ---------------------------------------------------------------
    def _group_of(self, op: Op, v: dict[str, Any]) -> tuple[Any, Any] | None:
        g = v.get(c.GROUP)
        if g is None:
            return None
        return (hashable(op.key), hashable(g))

    def _on_send(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t == INVOKE:
            gk = self._group_of(op, as_dict(op.value))
            if gk is not None:
                grp = self.groups.get(gk)
                self.pending_send[op.process] = grp.completed if grp is not None else 0
            return
        pre = self.pending_send.pop(op.process, 0)
        if t != OK:
            return
        v = as_dict(op.value)
        iv = as_dict(inv.value) if inv is not None else {}
        gk = self._group_of(op, v) or self._group_of(op, iv)
        mid = v.get(c.MESSAGE_ID) or iv.get(c.MESSAGE_ID) or v.get(c.SQS_ID)
        if gk is None or mid is None:
            return
        grp = self.groups.get(gk)
        if grp is None:
            grp = self.groups[gk] = _Group()
        ordinal = grp.completed
        grp.completed += 1
        grp.window.append((mid, op.index))
        self.inflight[hashable(mid)] = (gk, ordinal, pre, op.index)
        self.fifo_messages += 1

    def _on_receive(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        msgs = as_dict(op.value).get(c.MESSAGES)
        if not isinstance(msgs, list):
            return
        for m in msgs:
            m = as_dict(m)
            mid = m.get(c.MESSAGE_ID) or m.get(c.SQS_ID)
            rec = self.inflight.pop(hashable(mid), None) if mid is not None else None
            if rec is None:
                continue  # not a FIFO message we saw sent, or already received once
            gk, ordinal, pre, send_idx = rec
            grp = self.groups[gk]
            # every message with ordinal < pre was sent before this one was: it must be received first
            while grp.base < pre and grp.window:
                if grp.base in grp.received:
                    grp.received.discard(grp.base)
                else:
                    skipped, skipped_idx = grp.window[0]
                    self.inflight.pop(hashable(skipped), None)
                    self.log.add(
                        Anomaly(
                            kind="reordered",
                            ops=(skipped_idx, send_idx, op.index),
                            message=(
                                f"in FIFO group {gk[1]!r} of {gk[0]!r}, message {mid!r} was received "
                                f"(op {op.index}) before {skipped!r}, which was sent first (op {skipped_idx})"
                            ),
                            key=gk,
                            details={"received": mid, "skipped": skipped},
                        )
                    )
                grp.window.popleft()
                grp.base += 1
            if ordinal == grp.base and grp.window:
                grp.window.popleft()
                grp.base += 1
                while grp.base in grp.received and grp.window:
                    grp.received.discard(grp.base)
                    grp.window.popleft()
                    grp.base += 1
            elif ordinal > grp.base:
                grp.received.add(ordinal)

    # -- task state machine --------------------------------------------------
    def _on_transition(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t != OK and t != INFO:
            return
        v = as_dict(op.value) or (as_dict(inv.value) if inv is not None else {})
        frm, to = hashable(v.get(c.FROM)), hashable(v.get(c.TO))
        if frm is None or to is None:
            return
        to = self._names.setdefault(to, to)  # one copy of each state name
        self.transitions += 1
        task = hashable(op.key)
        cur = self.tasks.get(task, self.initial_state)
        possible = cur if isinstance(cur, frozenset) else ({cur} if cur is not None else None)
        if (frm, to) not in self.allowed:
            self.log.add(
                Anomaly(
                    kind="illegal_transition",
                    ops=(op.index,),
                    message=f"task {op.key!r} went from {frm!r} to {to!r}, which the state machine forbids",
                    key=op.key,
                    details={"from": frm, "to": to},
                )
            )
        elif possible is not None and frm not in possible:
            now = " or ".join(sorted(map(str, possible)))
            self.log.add(
                Anomaly(
                    kind="wrong_from_state",
                    ops=(op.index,),
                    message=f"task {op.key!r} moved from {frm!r} to {to!r} while it was {now}",
                    key=op.key,
                    details={"from": frm, "to": to, "current": sorted(map(str, possible))},
                )
            )
        if t == OK:
            self.tasks[task] = to
        else:  # unknown outcome: either state
            self.tasks[task] = frozenset((possible or {frm}) | {to})

    def finish(self) -> Verdict:
        stats = {
            "fifo_groups": len(self.groups),
            "fifo_messages": self.fifo_messages,
            "tasks": len(self.tasks),
            "transitions": self.transitions,
        }
        return self.log.verdict(NAME, stats)


def check_ordering(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check FIFO group order and task state transitions (see the module docstring)."""
    return run_checker(history, OrderingChecker(**spec))


__all__ = ["NAME", "OrderingChecker", "check_ordering"]
