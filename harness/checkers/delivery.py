"""Delivery: every message sent is consumed and completed, none is consumed
without having been sent, and duplicates are counted.

Messages are identified by their logical ``message_id`` (the message
attribute) or, when that is absent, by the ``sqs_id`` SQS assigned. They reach
a queue in three ways:

- an SQS send (``sqs.SendMessage``, ``sqs.SendMessageBatch``; key = queue);
- an SNS publish (``sns.Publish``; key = topic) fanned out to the queues
  subscribed to the topic, each of which receives its own copy with the same
  logical id. The history does not record subscriptions: by default a message
  received on any queue counts as sent if its id was published to any topic.
  Given ``subscriptions`` (topic -> queue names), a copy counts as sent only on
  a subscribed queue, and every queue subscribed to the topic must receive it;
- a dead-letter queue's redrive, which moves a message with its id unchanged:
  a message received on another queue than the one it was sent to counts as
  sent.

A send that completed ``ok`` must be received on its queue (``lost``
otherwise; a send with an unknown outcome need not be). When nobody received
from the queue after the send completed, the history ended before the message
could be consumed: that is ``unconsumed``, a warning (a run that drains its
queues before it stops settles it). A message received must then be deleted
somewhere (``unacknowledged`` otherwise: a warning, since a message whose work
was done but whose delete failed, or whose delete had not happened yet when
the history ended, is redelivered or dead-lettered by SQS, not lost; a
violation with ``require_delete=True``). A copy
received more than once on the same queue is ``duplicated``: a warning, since
at-least-once queues allow it, unless ``allow_duplicates=False``. A copy
received that was never sent (by a recorded send or publish) is ``unexpected``,
unless its queue matches one of ``fed_queues`` (name globs): queues that an
EventBridge rule or another producer outside the history feeds, whose
messages carry no logical id a recorded call could be matched with.

On a FIFO queue (name ending ``.fifo``) a send whose deduplication id (the
``dedup`` value) was already sent to the queue within ``dedup_window`` seconds
is accepted but not enqueued again (SQS's deduplication interval): it is the
same message as the first, whatever logical id it carries.

Memory holds one small record per message, nothing per operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import DedupWindow, Handler, as_dict, hashable, run_checker
from harness.checkers.verdict import VIOLATION, WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import FAIL, INVOKE, OK, Op

NAME = "delivery"

# per-message record: the copy on its home queue (the queue it was sent to, or
# the first to receive it) inline, copies on other queues in a dict:
# [sent state, send index, home queue, receives, first receive, delete index, other copies]
_SENT, _SEND_IDX, _QUEUE, _RECVS, _FIRST, _DELETED, _OTHERS = range(7)
# a copy on another queue: [receives, first receive, delete index]
_C_RECVS, _C_FIRST, _C_DELETED = range(3)
_UNSENT, _MAYBE, _SENT_OK = 0, 1, 2

#: SQS's deduplication interval on FIFO queues
DEDUP_WINDOW_SECONDS = 300.0


class DeliveryChecker:
    """Streaming delivery checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        send: Iterable[str] = (c.SQS_SEND,),
        send_batch: Iterable[str] = (c.SQS_SEND_BATCH,),
        publish: Iterable[str] = (c.SNS_PUBLISH,),
        receive: Iterable[str] = (c.SQS_RECEIVE,),
        delete: Iterable[str] = (c.SQS_DELETE,),
        delete_batch: Iterable[str] = (c.SQS_DELETE_BATCH,),
        subscriptions: Mapping[str, Iterable[str]] | None = None,
        fed_queues: Iterable[str] = (),
        require_delete: bool = False,
        allow_duplicates: bool = True,
        fifo_suffix: str = ".fifo",
        dedup_window: float = DEDUP_WINDOW_SECONDS,
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in send:
            self._handlers[f] = self._on_send
        for f in send_batch:
            self._handlers[f] = self._on_send_batch
        for f in publish:
            self._handlers[f] = self._on_publish
        for f in receive:
            self._handlers[f] = self._on_receive
        for f in delete:
            self._handlers[f] = self._on_delete
        for f in delete_batch:
            self._handlers[f] = self._on_delete_batch
        self.fed_queues = tuple(fed_queues)
        self._fed: dict[Any, bool] = {}
        self.subscriptions = (
            None
            if subscriptions is None
            else {hashable(t): frozenset(hashable(q) for q in qs) for t, qs in subscriptions.items()}
        )
        self.require_delete = require_delete
        self.allow_duplicates = allow_duplicates
        self.fifo_suffix = fifo_suffix
        self.dedup = DedupWindow(dedup_window)
        self.log = AnomalyLog(max_anomalies)
        self.messages: dict[Any, list[Any]] = {}
        self.published: dict[Any, list[Any]] = {}  # logical id -> [state, index, topic]
        self.by_sqs_id: dict[Any, Any] = {}  # sqs_id -> logical id, when they differ
        self.polled: dict[Any, int] = {}  # queue -> invocation index of its latest receive
        self._names: dict[Any, Any] = {}
        self.sends = self.publishes = self.receives = self.deletes = self.deduplicated = 0

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    # -- helpers ------------------------------------------------------------
    def _name(self, name: Any) -> Any:
        name = hashable(name)
        return self._names.setdefault(name, name)  # one copy of each queue or topic name

    def _sent(self, mid: Any, sqs_id: Any, dedup: Any, op: Op, inv: Op | None, state: int) -> None:
        mid, sqs_id = hashable(mid), hashable(sqs_id)
        if mid is None:
            mid = sqs_id
        if mid is None:
            return
        queue = self._name(op.key)
        if dedup is not None and type(queue) is str and queue.endswith(self.fifo_suffix):
            t = inv.time if inv is not None else op.time
            key = (queue, hashable(dedup))
            first = self.dedup.get(key, t)
            if first is None:
                self.dedup.put(key, t, mid)
            else:
                self.deduplicated += 1
                mid = first  # accepted, not enqueued again: the first message stands
        if sqs_id is not None and sqs_id != mid:
            self.by_sqs_id[sqs_id] = mid
        rec = self.messages.get(mid)
        if rec is None:
            rec = self.messages[mid] = [_UNSENT, -1, queue, 0, -1, -1, None]
        elif rec[_QUEUE] is not queue and rec[_QUEUE] != queue and rec[_SENT] == _UNSENT:
            # first seen on another queue (received before the send completed): rehome
            others = rec[_OTHERS] or {}
            others[rec[_QUEUE]] = [rec[_RECVS], rec[_FIRST], rec[_DELETED]]
            home = others.pop(queue, [0, -1, -1])
            rec[_QUEUE], rec[_RECVS], rec[_FIRST], rec[_DELETED] = queue, *home
            rec[_OTHERS] = others or None
        if state > rec[_SENT]:
            rec[_SENT] = state
            rec[_SEND_IDX] = op.index

    def _copy(self, rec: list[Any], queue: Any) -> list[Any] | None:
        """The copy of ``rec`` on ``queue`` other than its home queue, if any."""
        others = rec[_OTHERS]
        return others.get(queue) if others is not None else None

    # -- handlers -----------------------------------------------------------
    def _on_send(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t in (INVOKE, FAIL):
            return
        v = as_dict(op.value)
        iv = as_dict(inv.value) if inv is not None else v
        mid = v.get(c.MESSAGE_ID) or iv.get(c.MESSAGE_ID)
        dedup = v.get(c.DEDUP) or iv.get(c.DEDUP)
        self.sends += 1
        self._sent(mid, v.get(c.SQS_ID), dedup, op, inv, _SENT_OK if t == OK else _MAYBE)

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
            self._sent(
                e.get(c.MESSAGE_ID), e.get(c.SQS_ID), e.get(c.DEDUP), op, inv, _SENT_OK if ok else _MAYBE
            )

    def _on_publish(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t in (INVOKE, FAIL):
            return
        mid = as_dict(op.value).get(c.MESSAGE_ID)
        if mid is None and inv is not None:
            mid = as_dict(inv.value).get(c.MESSAGE_ID)
        if mid is None:
            return
        self.publishes += 1
        mid = hashable(mid)
        state = _SENT_OK if t == OK else _MAYBE
        pub = self.published.get(mid)
        if pub is None:
            self.published[mid] = [state, op.index, self._name(op.key)]
        elif state > pub[0]:
            pub[0], pub[1] = state, op.index

    def _on_receive(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        queue = self._name(op.key)
        self.polled[queue] = inv.index if inv is not None else op.index
        msgs = as_dict(op.value).get(c.MESSAGES)
        if not isinstance(msgs, list) or not msgs:
            return
        by_sqs_id = self.by_sqs_id
        for m in msgs:
            m = as_dict(m)
            sqs_id = hashable(m.get(c.SQS_ID))
            mid = hashable(m.get(c.MESSAGE_ID)) or by_sqs_id.get(sqs_id, sqs_id)
            if mid is None:
                continue
            if sqs_id is not None and sqs_id != mid and sqs_id not in by_sqs_id:
                by_sqs_id[sqs_id] = mid
            self.receives += 1
            rec = self.messages.get(mid)
            if rec is None:
                rec = self.messages[mid] = [_UNSENT, -1, queue, 1, op.index, -1, None]
                continue
            if rec[_QUEUE] is queue or rec[_QUEUE] == queue:
                rec[_RECVS] += 1
                if rec[_FIRST] < 0:
                    rec[_FIRST] = op.index
                elif rec[_RECVS] == 2:
                    self._duplicate(mid, queue, rec[_SEND_IDX], rec[_FIRST], op)
                continue
            others = rec[_OTHERS]
            if others is None:
                others = rec[_OTHERS] = {}
            cp = others.get(queue)
            if cp is None:
                others[queue] = [1, op.index, -1]
            else:
                cp[_C_RECVS] += 1
                if cp[_C_RECVS] == 2:
                    self._duplicate(mid, queue, rec[_SEND_IDX], cp[_C_FIRST], op)

    def _duplicate(self, mid: Any, queue: Any, send_idx: int, first: int, op: Op) -> None:
        self.log.add(
            Anomaly(
                kind="duplicated",
                ops=tuple(i for i in (send_idx, first, op.index) if i >= 0),
                message=f"message {mid!r} on {queue!r} was received again (op {op.index})",
                key=mid,
                severity=WARNING if self.allow_duplicates else VIOLATION,
                details={"queue": queue},
            )
        )

    def _deleted(self, sqs_id: Any, op: Op) -> None:
        self.deletes += 1
        sqs_id = hashable(sqs_id)
        rec = self.messages.get(self.by_sqs_id.get(sqs_id, sqs_id))
        if rec is None:
            return  # never received: nothing to complete
        queue = self._name(op.key)
        cp = None if rec[_QUEUE] is queue or rec[_QUEUE] == queue else self._copy(rec, queue)
        if cp is not None:
            if cp[_C_DELETED] < 0:
                cp[_C_DELETED] = op.index
        elif rec[_DELETED] < 0:
            rec[_DELETED] = op.index

    def _on_delete(self, op: Op, inv: Op | None) -> None:
        if op.type in (INVOKE, FAIL):
            return
        sqs_id = as_dict(op.value).get(c.SQS_ID)
        if sqs_id is None and inv is not None:
            sqs_id = as_dict(inv.value).get(c.SQS_ID)
        if sqs_id is not None:
            self._deleted(sqs_id, op)

    def _on_delete_batch(self, op: Op, inv: Op | None) -> None:
        if op.type in (INVOKE, FAIL):
            return
        entries = as_dict(op.value).get(c.ENTRIES)
        if not isinstance(entries, list) and inv is not None:
            entries = as_dict(inv.value).get(c.ENTRIES)
        for e in entries if isinstance(entries, list) else ():
            sqs_id = as_dict(e).get(c.SQS_ID)
            if sqs_id is not None and not as_dict(e).get("failed"):
                self._deleted(sqs_id, op)

    # -- verdict ------------------------------------------------------------
    def _published_to(self, mid: Any, queue: Any) -> bool:
        """Whether ``queue`` may have received ``mid`` from a topic."""
        pub = self.published.get(mid)
        if pub is None:
            return False
        queues = self.subscriptions.get(pub[2]) if self.subscriptions is not None else None
        return queues is None or queue in queues  # a topic not in the mapping: any queue

    def _not_completed(self, mid: Any, queue: Any, send_idx: int, first: int, recvs: int, via: str) -> bool:
        """Report a message sent ``ok`` that ``queue`` never received (``lost``,
        or ``unconsumed`` when nobody received from the queue after it was sent)
        or never deleted (``unacknowledged``); True if it was lost."""
        if recvs == 0:
            polled = self.polled.get(queue)
            if polled is None:
                kind, what, severity = (
                    "lost",
                    f"never received (nothing was received from {queue!r})",
                    VIOLATION,
                )
            elif polled > send_idx:
                kind, what, severity = "lost", "never received", VIOLATION
            else:
                kind, severity = "unconsumed", WARNING
                what = f"never received: the history ends before {queue!r} was received from again"
        else:
            kind, what = "unacknowledged", "received but never deleted (never completed)"
            severity = VIOLATION if self.require_delete else WARNING
        self.log.add(
            Anomaly(
                kind=kind,
                ops=tuple(i for i in (send_idx, first) if i >= 0),
                message=f"message {mid!r} {via} {queue!r} (op {send_idx}) was {what}",
                key=mid,
                severity=severity,
                details={"queue": queue, "received": recvs},
            )
        )
        return kind == "lost"

    def _is_fed(self, queue: Any) -> bool:
        if not self.fed_queues:
            return False
        if queue not in self._fed:
            import fnmatch

            self._fed[queue] = any(fnmatch.fnmatchcase(str(queue), g) for g in self.fed_queues)
        return self._fed[queue]

    def finish(self) -> Verdict:
        lost = unacked = unconsumed = unexpected = duplicated = fanned_out = 0
        for mid, rec in self.messages.items():
            sent, send_idx, queue, recvs, first, deleted, others = rec
            copies = [(queue, recvs, first, deleted)]
            if others:
                copies.extend((q, *cp) for q, cp in others.items())
            any_deleted = False
            for q, n, first_q, deleted_q in copies:
                if n > 1:
                    duplicated += 1
                any_deleted = any_deleted or deleted_q >= 0
                if n == 0 or sent != _UNSENT:
                    continue
                if self._published_to(mid, q) or self._is_fed(q):
                    fanned_out += 1
                    continue
                unexpected += 1
                self.log.add(
                    Anomaly(
                        kind="unexpected",
                        ops=(first_q,),
                        message=f"message {mid!r} on {q!r} was received but never sent",
                        key=mid,
                        details={"queue": q},
                    )
                )
            if sent == _SENT_OK and (recvs == 0 or not any_deleted):
                if self._not_completed(mid, queue, send_idx, first, recvs, "sent to"):
                    lost += 1
                elif recvs:
                    unacked += 1
                else:
                    unconsumed += 1
        if self.subscriptions is not None:
            n_lost, n_unacked, n_unconsumed = self._fanout_not_completed()
            lost += n_lost
            unacked += n_unacked
            unconsumed += n_unconsumed
        stats = {
            "messages": len(self.messages),
            "sends": self.sends,
            "publishes": self.publishes,
            "receives": self.receives,
            "deletes": self.deletes,
            "lost": lost,
            "unacknowledged": unacked,
            "unconsumed": unconsumed,
            "duplicated": duplicated,
            "unexpected": unexpected,
            "fanned_out": fanned_out,
            "deduplicated_sends": self.deduplicated,
        }
        return self.log.verdict(NAME, stats)

    def _fanout_not_completed(self) -> tuple[int, int, int]:
        """With subscriptions known: every subscribed queue must receive (and
        complete) its copy of each message published ``ok``."""
        assert self.subscriptions is not None
        lost = unacked = unconsumed = 0
        for mid, (state, idx, topic) in self.published.items():
            if state != _SENT_OK:
                continue
            rec = self.messages.get(mid)
            for q in sorted(self.subscriptions.get(topic, ()), key=repr):
                if rec is None:
                    n, first, deleted = 0, -1, -1
                elif rec[_QUEUE] == q:
                    n, first, deleted = rec[_RECVS], rec[_FIRST], rec[_DELETED]
                else:
                    n, first, deleted = self._copy(rec, q) or (0, -1, -1)
                if n == 0 or deleted < 0:
                    if self._not_completed(mid, q, idx, first, n, f"published to {topic!r} for"):
                        lost += 1
                    elif n:
                        unacked += 1
                    else:
                        unconsumed += 1
        return lost, unacked, unconsumed


def check_delivery(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that every message sent is consumed and completed (see the module docstring)."""
    return run_checker(history, DeliveryChecker(**spec))


__all__ = ["DEDUP_WINDOW_SECONDS", "NAME", "DeliveryChecker", "check_delivery"]
