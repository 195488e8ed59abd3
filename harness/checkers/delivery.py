"""Delivery: every message sent is consumed and completed, none is consumed
without having been sent, and duplicates are counted.

Messages are SQS messages, identified by their logical ``message_id`` (the
message attribute) or, when that is absent, by the ``sqs_id`` SQS assigned. A
send that completed ``ok`` must be received and then deleted (``lost``
otherwise); a send with an unknown outcome need not be. A message received
more than once is ``duplicated``: a warning, since at-least-once queues allow
it, unless ``allow_duplicates=False``. A message received that was never sent
(by a recorded send) is ``unexpected``.

Memory holds one small record per message, nothing per operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, hashable, run_checker
from harness.checkers.verdict import VIOLATION, WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import FAIL, INVOKE, OK, Op

NAME = "delivery"

# per-message record: [send index or -1, sent state, first receive index, receives, delete index, queue]
_SENT, _FIRST_RECV, _RECVS, _DELETED, _SEND_IDX, _QUEUE = range(6)
_UNSENT, _MAYBE, _SENT_OK = 0, 1, 2


class DeliveryChecker:
    """Streaming delivery checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        send: Iterable[str] = (c.SQS_SEND,),
        send_batch: Iterable[str] = (c.SQS_SEND_BATCH,),
        receive: Iterable[str] = (c.SQS_RECEIVE,),
        delete: Iterable[str] = (c.SQS_DELETE,),
        delete_batch: Iterable[str] = (c.SQS_DELETE_BATCH,),
        require_delete: bool = True,
        allow_duplicates: bool = True,
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in send:
            self._handlers[f] = self._on_send
        for f in send_batch:
            self._handlers[f] = self._on_send_batch
        for f in receive:
            self._handlers[f] = self._on_receive
        for f in delete:
            self._handlers[f] = self._on_delete
        for f in delete_batch:
            self._handlers[f] = self._on_delete_batch
        self.require_delete = require_delete
        self.allow_duplicates = allow_duplicates
        self.log = AnomalyLog(max_anomalies)
        self.messages: dict[Any, list[Any]] = {}
        self.by_sqs_id: dict[Any, Any] = {}  # sqs_id -> logical id, when they differ
        self._queues: dict[Any, Any] = {}
        self.sends = self.receives = self.deletes = 0

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    # -- helpers ------------------------------------------------------------
    def _record(self, mid: Any, queue: Any) -> list[Any]:
        rec = self.messages.get(mid)
        if rec is None:
            queue = hashable(queue)
            queue = self._queues.setdefault(queue, queue)  # one copy of each queue name
            rec = self.messages[mid] = [_UNSENT, -1, 0, -1, -1, queue]
        return rec

    def _sent(self, mid: Any, sqs_id: Any, queue: Any, state: int, index: int) -> None:
        mid, sqs_id = hashable(mid), hashable(sqs_id)
        if mid is None:
            mid = sqs_id
        if mid is None:
            return
        if sqs_id is not None and sqs_id != mid:
            self.by_sqs_id[sqs_id] = mid
        rec = self._record(mid, queue)
        if state > rec[_SENT]:
            rec[_SENT] = state
            rec[_SEND_IDX] = index

    # -- handlers -----------------------------------------------------------
    def _on_send(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t in (INVOKE, FAIL):
            return
        v = as_dict(op.value)
        iv = as_dict(inv.value) if inv is not None else v
        mid = v.get(c.MESSAGE_ID) or iv.get(c.MESSAGE_ID)
        self.sends += 1
        self._sent(mid, v.get(c.SQS_ID), op.key, _SENT_OK if t == OK else _MAYBE, op.index)

    def _on_send_batch(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t in (INVOKE, FAIL):
            return
        entries = as_dict(op.value).get(c.ENTRIES)
        if not isinstance(entries, list) and inv is not None:
            entries = as_dict(inv.value).get(c.ENTRIES)
        for e in entries if isinstance(entries, list) else ():
            e = as_dict(e)
            ok = t == OK and not e.get("failed")
            self.sends += 1
            self._sent(e.get(c.MESSAGE_ID), e.get(c.SQS_ID), op.key, _SENT_OK if ok else _MAYBE, op.index)

    def _on_receive(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        msgs = as_dict(op.value).get(c.MESSAGES)
        if not isinstance(msgs, list):
            return
        for m in msgs:
            m = as_dict(m)
            sqs_id = hashable(m.get(c.SQS_ID))
            mid = hashable(m.get(c.MESSAGE_ID)) or self.by_sqs_id.get(sqs_id, sqs_id)
            if mid is None:
                continue
            if sqs_id is not None and sqs_id != mid and sqs_id not in self.by_sqs_id:
                self.by_sqs_id[sqs_id] = mid
            self.receives += 1
            rec = self._record(mid, op.key)
            rec[_RECVS] += 1
            if rec[_FIRST_RECV] < 0:
                rec[_FIRST_RECV] = op.index
            elif rec[_RECVS] == 2:
                self._duplicate(mid, rec, op)

    def _duplicate(self, mid: Any, rec: list[Any], op: Op) -> None:
        self.log.add(
            Anomaly(
                kind="duplicated",
                ops=tuple(i for i in (rec[_SEND_IDX], rec[_FIRST_RECV], op.index) if i >= 0),
                message=f"message {mid!r} on {rec[_QUEUE]!r} was received again (op {op.index})",
                key=mid,
                severity=WARNING if self.allow_duplicates else VIOLATION,
                details={"queue": rec[_QUEUE]},
            )
        )

    def _deleted(self, sqs_id: Any, op: Op) -> None:
        sqs_id = hashable(sqs_id)
        mid = self.by_sqs_id.get(sqs_id, sqs_id)
        rec = self.messages.get(mid)
        if rec is None:
            rec = self._record(mid, op.key)
        if rec[_DELETED] < 0:
            rec[_DELETED] = op.index
        self.deletes += 1

    def _on_delete(self, op: Op, inv: Op | None) -> None:
        if op.type == INVOKE or op.type == FAIL:
            return
        v = as_dict(op.value) or (as_dict(inv.value) if inv is not None else {})
        sqs_id = v.get(c.SQS_ID)
        if sqs_id is None and inv is not None:
            sqs_id = as_dict(inv.value).get(c.SQS_ID)
        if sqs_id is not None:
            self._deleted(sqs_id, op)

    def _on_delete_batch(self, op: Op, inv: Op | None) -> None:
        if op.type == INVOKE or op.type == FAIL:
            return
        entries = as_dict(op.value).get(c.ENTRIES)
        if not isinstance(entries, list) and inv is not None:
            entries = as_dict(inv.value).get(c.ENTRIES)
        for e in entries if isinstance(entries, list) else ():
            sqs_id = as_dict(e).get(c.SQS_ID)
            if sqs_id is not None and not as_dict(e).get("failed"):
                self._deleted(sqs_id, op)

    # -- verdict ------------------------------------------------------------
    def finish(self) -> Verdict:
        lost = unexpected = 0
        for mid, rec in self.messages.items():
            sent, first, recvs, deleted, send_idx, queue = rec
            if sent == _UNSENT and recvs:
                unexpected += 1
                self.log.add(
                    Anomaly(
                        kind="unexpected",
                        ops=(first,),
                        message=f"message {mid!r} on {queue!r} was received but never sent",
                        key=mid,
                        details={"queue": queue},
                    )
                )
            elif sent == _SENT_OK and (recvs == 0 or (self.require_delete and deleted < 0)):
                lost += 1
                what = "never received" if recvs == 0 else "received but never deleted (not completed)"
                self.log.add(
                    Anomaly(
                        kind="lost",
                        ops=tuple(i for i in (send_idx, first) if i >= 0),
                        message=f"message {mid!r} sent to {queue!r} (op {send_idx}) was {what}",
                        key=mid,
                        details={"queue": queue, "received": recvs},
                    )
                )
        stats = {
            "messages": len(self.messages),
            "sends": self.sends,
            "receives": self.receives,
            "deletes": self.deletes,
            "lost": lost,
            "duplicated": sum(1 for r in self.messages.values() if r[_RECVS] > 1),
            "unexpected": unexpected,
        }
        return self.log.verdict(NAME, stats)


def check_delivery(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that every message sent is consumed and completed (see the module docstring)."""
    return run_checker(history, DeliveryChecker(**spec))


__all__ = ["NAME", "DeliveryChecker", "check_delivery"]
