"""Ordering: FIFO message groups deliver in send order, and every task's state
transitions follow the allowed state machine.

*FIFO groups.* What an SQS FIFO queue guarantees, per queue and message group:
the *first* delivery of each message happens in send order. A message whose
send completed ``ok`` before another send to the same group was invoked must be
received before that other one is first received; when it is not, that is
``reordered`` (reported once per skipped message). Redeliveries (a message not
deleted in time, received again after its visibility timeout, possibly after
later messages) are what FIFO allows and are not judged here; the delivery
checker counts them. A send of unknown outcome constrains nothing, but a
message it may have sent still has to arrive after everything acknowledged
before it was invoked. A send whose deduplication id (``dedup``, else its
logical message id) was already sent to the queue within ``dedup_window``
seconds is accepted but not enqueued again: it is the same message, whose
place is that of its first send. Memory holds the messages in flight, not the
history.

*Processing order.* A consumer can receive a group's messages in order and
still apply them out of order (a batch applied backwards, a retry applying an
older message after a newer one). On the queues matching ``processed_queues``
(name globs; none by default), the consumer records ``message.apply`` (key =
queue name, value ``{"message_id", "sqs_id", "group"}``) right after it
applied a message. Per queue and group, the messages are kept in the order of
their first receive until first applied; a message first applied while one of
its group received before it has not been applied yet is
``applied_out_of_order`` (reported once per skipped message, which is then no
longer judged). A re-application (a duplicate, a redelivery: a message
already applied, or received again with ``receive_count`` above 1) is not
judged, nor is a message received and never applied (a crash may stop a
consumer), though one that later messages of its group overtake is reported:
a consumer that drops a message (malformed, say) records its application
too. Memory holds, per group, at most ``max_pending`` unapplied messages (the
oldest are forgotten, counted as ``pending_dropped``) and as many recently
applied ones. Without ``processed_queues``, a history with FIFO messages or
``message.apply`` notes has the statistics say that processing order was not
judged (``processing_skipped``).

*Task states.* Judged only against a declared state machine (``allowed``
pairs and ``initial_state``, or ``state_machine``: a
:class:`harness.system.StateMachine` or its JSON form); without one the
transitions are counted, not judged, and the statistics say so
(``skipped``). ``state.transition`` operations (key = task id, value
``{"from", "to"}``) must each be an allowed transition (``illegal_transition``,
e.g. done -> running) from a state the task can be in (``wrong_from_state``: a
transition from a state the task has already left, or can never reach, such as
two writers both moving a task out of ``running``). A transition is recorded
after the write that made it succeeded, so a crash or a lost acknowledgement
between the two leaves a transition unrecorded: a transition from a state the
task can still reach (it skipped ahead) is accepted, and the skipped steps are
reported as ``unrecorded_transition`` (a warning) unless a late record fills
them in. A transition of unknown outcome leaves the task in either state.
"""

from __future__ import annotations

import fnmatch
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from harness.checkers import conventions as c
from harness.checkers.base import DedupWindow, Handler, as_dict, hashable, run_checker
from harness.checkers.verdict import WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

if TYPE_CHECKING:
    from harness.system.declarations import StateMachine

NAME = "ordering"

#: SQS's deduplication interval on FIFO queues
DEDUP_WINDOW_SECONDS = 300.0


class _Msg:
    """One FIFO message: its place in its group and whether it was received."""

    __slots__ = ("group", "mid", "pre", "ordinal", "send_idx", "received")

    def __init__(self, group: _Group, mid: Any, pre: int, send_idx: int) -> None:
        self.group = group
        self.mid = mid
        self.pre = pre  # sends of the group acknowledged before this message's first send was invoked
        self.ordinal = -1  # place among the group's acknowledged sends, once acknowledged
        self.send_idx = send_idx
        self.received = False


class _Group:
    __slots__ = ("key", "completed", "window")

    def __init__(self, key: tuple[Any, Any]) -> None:
        self.key = key
        self.completed = 0  # sends acknowledged so far (the next ordinal)
        self.window: deque[_Msg] = deque()  # acknowledged messages from the oldest not yet resolved


class _Pending:
    """A message received on a processed queue and not applied yet."""

    __slots__ = ("group", "key", "sqs_id", "recv_idx")

    def __init__(self, group: _PGroup, key: Any, sqs_id: Any, recv_idx: int) -> None:
        self.group = group
        self.key = key
        self.sqs_id = sqs_id
        self.recv_idx = recv_idx


class _PGroup:
    """One group of a processed queue: its unapplied messages in first-receive
    order, and the ones applied (or reported) recently."""

    __slots__ = ("key", "pending", "done")

    def __init__(self, key: tuple[Any, Any]) -> None:
        self.key = key
        self.pending: OrderedDict[Any, _Pending] = OrderedDict()
        self.done: OrderedDict[Any, None] = OrderedDict()


class OrderingChecker:
    """Streaming ordering checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        send: Iterable[str] = (c.SQS_SEND,),
        receive: Iterable[str] = (c.SQS_RECEIVE,),
        transition: Iterable[str] = (c.STATE_TRANSITION,),
        apply: Iterable[str] = (c.MESSAGE_APPLY,),
        processed_queues: Iterable[str] = (),
        allowed: Iterable[tuple[str, str]] | Mapping[str, Iterable[str]] | None = None,
        initial_state: str | None = None,
        state_machine: Any = None,
        fifo_suffix: str = ".fifo",
        dedup_window: float = DEDUP_WINDOW_SECONDS,
        max_pending: int = 1000,
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in send:
            self._handlers[f] = self._on_send
        for f in receive:
            self._handlers[f] = self._on_receive
        if state_machine is not None:
            sm = as_state_machine(state_machine)
            if allowed is None:
                allowed = sm.transitions
            if initial_state is None:
                initial_state = sm.initial
        #: The declared transitions; None: task states are not judged.
        self.allowed: frozenset[tuple[Any, Any]] | None = (
            None if allowed is None else transition_pairs(allowed)
        )
        for f in transition:
            self._handlers[f] = self._on_transition if self.allowed is not None else self._count_transition
        if isinstance(processed_queues, str):
            processed_queues = (processed_queues,)
        #: Name globs of the queues whose processing order is judged.
        self.processed_queues: tuple[str, ...] = tuple(processed_queues)
        for f in apply:
            self._handlers[f] = self._on_apply if self.processed_queues else self._count_apply
        self.max_pending = max(1, int(max_pending))
        self.reach = _reachability(self.allowed or frozenset())
        self.initial_state = initial_state
        self.fifo_suffix = fifo_suffix
        self.log = AnomalyLog(max_anomalies)
        self.groups: dict[tuple[Any, Any], _Group] = {}
        self.dedup = DedupWindow(dedup_window)  # (queue, dedup key) -> _Msg
        self.pending: dict[Any, _Msg] = {}  # process -> the message its open send is for
        self.by_mid: dict[tuple[Any, Any], _Msg] = {}  # (queue, logical id) -> message not received yet
        self.tasks: dict[Any, Any] = {}  # task -> state, or frozenset of possible states
        self.gaps: dict[Any, list[tuple[frozenset[Any], Any, int]]] = {}  # task -> unrecorded steps
        self._names: dict[Any, Any] = {}
        self.fifo_messages = 0
        self.transitions = 0
        self._processed: dict[Any, bool] = {}  # queue -> whether it matches processed_queues
        self.pgroups: dict[tuple[Any, Any], _PGroup] = {}
        self.unapplied: dict[tuple[Any, Any], _Pending] = {}  # (queue, logical or SQS id) -> message
        self.messages_applied = 0
        self.reapplied = 0
        self.applies = 0  # message.apply notes seen (counted when not judged)
        self.out_of_order = 0
        self.pending_dropped = 0

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    # -- FIFO ---------------------------------------------------------------
    def _on_send(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t == INVOKE:
            v = as_dict(op.value)
            g = v.get(c.GROUP)
            if g is None:
                return
            queue = hashable(op.key)
            gk = (queue, hashable(g))
            grp = self.groups.get(gk)
            if grp is None:
                grp = self.groups[gk] = _Group(gk)
            mid = hashable(v.get(c.MESSAGE_ID))
            dkey = hashable(v.get(c.DEDUP)) or mid
            msg = self.dedup.get((queue, dkey), op.time) if dkey is not None else None
            if msg is None or msg.group is not grp:
                msg = _Msg(grp, mid, grp.completed, op.index)
                if dkey is not None:
                    self.dedup.put((queue, dkey), op.time, msg)
                if mid is not None:
                    self.by_mid[(queue, mid)] = msg
            self.pending[op.process] = msg
            return
        msg = self.pending.pop(op.process, None)
        if msg is None and t == OK:
            msg = self._unseen_send(op)
        if msg is None or t != OK or msg.ordinal >= 0:
            return  # not a FIFO send, not acknowledged, or a repeat of an acknowledged one
        if msg.mid is None:  # no logical id: known by the id SQS assigned
            msg.mid = hashable(as_dict(op.value).get(c.SQS_ID))
            if msg.mid is None:
                return
            self.by_mid[(msg.group.key[0], msg.mid)] = msg
        grp = msg.group
        msg.ordinal = grp.completed
        msg.send_idx = op.index
        grp.completed += 1
        self.fifo_messages += 1
        if not msg.received or grp.window:
            grp.window.append(msg)

    def _unseen_send(self, op: Op) -> _Msg | None:
        """A FIFO send known from its completion only (its invocation named no
        group, or was not recorded): it constrains nothing before it."""
        v = as_dict(op.value)
        g, mid = v.get(c.GROUP), hashable(v.get(c.MESSAGE_ID) or v.get(c.SQS_ID))
        if g is None or mid is None:
            return None
        queue = hashable(op.key)
        gk = (queue, hashable(g))
        grp = self.groups.get(gk)
        if grp is None:
            grp = self.groups[gk] = _Group(gk)
        msg = self.by_mid.get((queue, mid))
        if msg is None or msg.group is not grp:
            msg = self.by_mid[(queue, mid)] = _Msg(grp, mid, 0, op.index)
        return msg

    def _on_receive(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        msgs = as_dict(op.value).get(c.MESSAGES)
        if not isinstance(msgs, list) or not msgs:
            return
        by_mid = self.by_mid
        queue = hashable(op.key)
        processed = self._is_processed(queue)
        for m in msgs:
            m = as_dict(m)
            msg = by_mid.pop((queue, hashable(m.get(c.MESSAGE_ID) or m.get(c.SQS_ID))), None)
            if processed:
                self._received(queue, m, msg, op)
            if msg is None:
                continue  # not a FIFO message we saw sent, or a redelivery
            msg.received = True
            window = msg.group.window
            # every message acknowledged before this one was first sent must have come first
            while window and (window[0].received or window[0].ordinal < msg.pre):
                first = window.popleft()
                if not first.received:
                    first.received = True  # reported once; its late arrival is not judged again
                    by_mid.pop((queue, first.mid), None)
                    self._reordered(msg.group, first, msg, op)

    def _reordered(self, grp: _Group, skipped: _Msg, msg: _Msg, op: Op) -> None:
        queue, group = grp.key
        self.log.add(
            Anomaly(
                kind="reordered",
                ops=(skipped.send_idx, msg.send_idx, op.index),
                message=(
                    f"in FIFO group {group!r} of {queue!r}, message {msg.mid!r} was received "
                    f"(op {op.index}) before {skipped.mid!r}, whose send was acknowledged "
                    f"(op {skipped.send_idx}) before {msg.mid!r} was sent"
                ),
                key=grp.key,
                details={"received": msg.mid, "skipped": skipped.mid},
            )
        )

    # -- processing order ----------------------------------------------------
    def _is_processed(self, queue: Any) -> bool:
        if not self.processed_queues:
            return False
        known = self._processed.get(queue)
        if known is None:
            name = str(queue)
            known = self._processed[queue] = any(fnmatch.fnmatchcase(name, g) for g in self.processed_queues)
        return known

    def _received(self, queue: Any, m: dict[str, Any], sent: _Msg | None, op: Op) -> None:
        """A message received on a processed queue: queued for its application
        if this is its first receive."""
        mid, sqs_id = hashable(m.get(c.MESSAGE_ID)), hashable(m.get(c.SQS_ID))
        key = mid if mid is not None else sqs_id
        if key is None:
            return
        unapplied = self.unapplied
        if (queue, key) in unapplied or (sqs_id is not None and (queue, sqs_id) in unapplied):
            return  # received again before it was applied
        count = m.get(c.RECEIVE_COUNT)
        if isinstance(count, int) and count > 1:
            return  # a redelivery
        g = hashable(m.get(c.GROUP))
        if g is None:
            if sent is None:
                return  # its group is unknown
            g = sent.group.key[1]
        gk = (queue, g)
        grp = self.pgroups.get(gk)
        if grp is None:
            grp = self.pgroups[gk] = _PGroup(gk)
        if key in grp.done:
            return  # already applied: a redelivery
        p = _Pending(grp, key, sqs_id, op.index)
        grp.pending[key] = p
        unapplied[(queue, key)] = p
        if sqs_id is not None:
            unapplied[(queue, sqs_id)] = p
        if len(grp.pending) > self.max_pending:
            self._forget(grp.pending.popitem(last=False)[1])
            self.pending_dropped += 1

    def _forget(self, p: _Pending) -> None:
        queue = p.group.key[0]
        self.unapplied.pop((queue, p.key), None)
        if p.sqs_id is not None:
            self.unapplied.pop((queue, p.sqs_id), None)
        done = p.group.done
        done[p.key] = None
        if len(done) > self.max_pending:
            done.popitem(last=False)

    def _count_apply(self, op: Op, inv: Op | None) -> None:
        if op.type == OK:
            self.applies += 1

    def _on_apply(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        queue = hashable(op.key)
        if not self._is_processed(queue):
            return
        v = as_dict(op.value) or (as_dict(inv.value) if inv is not None else {})
        mid, sqs_id = hashable(v.get(c.MESSAGE_ID)), hashable(v.get(c.SQS_ID))
        unapplied = self.unapplied
        p = unapplied.get((queue, mid)) if mid is not None else None
        if p is None and sqs_id is not None:
            p = unapplied.get((queue, sqs_id))
        if p is None:
            self.reapplied += 1  # applied before, or never received on a processed queue
            return
        self.messages_applied += 1
        pending = p.group.pending
        while True:
            first = next(iter(pending.values()))
            del pending[first.key]
            self._forget(first)
            if first is p:
                return
            self._applied_out_of_order(first, p, op)

    def _applied_out_of_order(self, skipped: _Pending, p: _Pending, op: Op) -> None:
        queue, group = p.group.key
        self.out_of_order += 1
        self.log.add(
            Anomaly(
                kind="applied_out_of_order",
                ops=(skipped.recv_idx, p.recv_idx, op.index),
                message=(
                    f"in FIFO group {group!r} of {queue!r}, message {p.key!r} was applied "
                    f"(op {op.index}) before {skipped.key!r}, received ahead of it "
                    f"(op {skipped.recv_idx}; {p.key!r} at op {p.recv_idx}) and not applied yet"
                ),
                key=p.group.key,
                details={"applied": p.key, "skipped": skipped.key},
            )
        )

    # -- task state machine --------------------------------------------------
    def _count_transition(self, op: Op, inv: Op | None) -> None:
        if op.type == OK or op.type == INFO:
            self.transitions += 1
            self.tasks.setdefault(hashable(op.key), None)

    def _on_transition(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t != OK and t != INFO:
            return
        assert self.allowed is not None
        v = as_dict(op.value) or (as_dict(inv.value) if inv is not None else {})
        frm, to = hashable(v.get(c.FROM)), hashable(v.get(c.TO))
        if frm is None or to is None:
            return
        to = self._names.setdefault(to, to)  # one copy of each state name
        self.transitions += 1
        task = hashable(op.key)
        cur = self.tasks.get(task, self.initial_state)
        if t == OK and (frm == cur or cur is None) and (frm, to) in self.allowed:
            self.tasks[task] = to  # the common case
            return
        possible = None if cur is None else cur if isinstance(cur, frozenset) else frozenset((cur,))
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
            reach = self.reach
            if any(frm in reach.get(s, ()) for s in possible):
                # skipped ahead: the steps in between were made but not recorded
                self.gaps.setdefault(task, []).append((possible, frm, op.index))
            elif self._fills_gap(task, frm, to):
                return  # a late record of a step already skipped: the task stays where it is
            else:
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

    def _fills_gap(self, task: Any, frm: Any, to: Any) -> bool:
        """Whether ``frm -> to`` lies on the unrecorded steps of one of ``task``'s
        skips; if so the skip shrinks to what is still unrecorded."""
        gaps = self.gaps.get(task)
        if not gaps:
            return False
        reach = self.reach
        for i, (starts, end, idx) in enumerate(gaps):
            if (frm in starts or any(frm in reach.get(s, ()) for s in starts)) and (
                to == end or end in reach.get(to, ())
            ):
                rest = []
                if frm not in starts:
                    rest.append((starts, frm, idx))
                if to != end:
                    rest.append((frozenset((to,)), end, idx))
                gaps[i : i + 1] = rest
                return True
        return False

    def finish(self) -> Verdict:
        for task, gaps in self.gaps.items():
            for starts, end, idx in gaps:
                was = " or ".join(sorted(map(str, starts)))
                self.log.add(
                    Anomaly(
                        kind="unrecorded_transition",
                        ops=(idx,),
                        message=(
                            f"task {task!r} moved from {end!r} (op {idx}) without a recorded move from "
                            f"{was} to {end!r} (a crash or lost acknowledgement between a write and its record)"
                        ),
                        key=task,
                        severity=WARNING,
                        details={"from": sorted(map(str, starts)), "to": end},
                    )
                )
        stats: dict[str, Any] = {
            "fifo_groups": len(self.groups),
            "fifo_messages": self.fifo_messages,
            "tasks": len(self.tasks),
            "transitions": self.transitions,
        }
        if self.allowed is None:
            stats["skipped"] = "no state machine declared: task transitions not judged"
        if self.processed_queues:
            stats["messages_applied"] = self.messages_applied
            stats["reapplied"] = self.reapplied
            stats["applied_out_of_order"] = self.out_of_order
            stats["pending_dropped"] = self.pending_dropped
            stats["pending_at_end"] = sum(len(g.pending) for g in self.pgroups.values())
        elif self.groups or self.applies:  # FIFO traffic whose processing is not judged
            stats["message_applies"] = self.applies
            stats["processing_skipped"] = "no processed_queues declared: processing order not judged"
        return self.log.verdict(NAME, stats)


def as_state_machine(value: Any) -> StateMachine:
    """A :class:`harness.system.StateMachine` from one or from its JSON form
    (a malformed one is a ValueError with one line)."""
    from harness.system.declarations import StateMachine

    if isinstance(value, StateMachine):
        return value
    if isinstance(value, Mapping):
        return StateMachine.from_json(value)
    raise ValueError(f"state_machine must be a StateMachine or its JSON object, not {type(value).__name__}")


def transition_pairs(allowed: Iterable[Any] | Mapping[str, Iterable[str]]) -> frozenset[tuple[Any, Any]]:
    """Allowed transitions as ``(from, to)`` pairs, from pairs (tuples or JSON
    lists) or ``{state: [next states]}``."""
    if isinstance(allowed, Mapping):
        return frozenset((a, b) for a, nexts in allowed.items() for b in nexts)
    out = set()
    for pair in allowed:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"allowed transitions must be [from, to] pairs, not {pair!r}")
        out.add((hashable(pair[0]), hashable(pair[1])))
    return frozenset(out)


def _reachability(allowed: frozenset[tuple[Any, Any]]) -> dict[Any, frozenset[Any]]:
    """For each state, the states reachable from it in one or more allowed steps."""
    succ: dict[Any, set[Any]] = {}
    for a, b in allowed:
        succ.setdefault(a, set()).add(b)
    reach: dict[Any, frozenset[Any]] = {}
    for s in succ:
        seen: set[Any] = set()
        todo = list(succ[s])
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                todo.extend(succ.get(x, ()))
        reach[s] = frozenset(seen)
    return reach


def check_ordering(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check FIFO group order and task state transitions (see the module docstring)."""
    return run_checker(history, OrderingChecker(**spec))


__all__ = [
    "DEDUP_WINDOW_SECONDS",
    "NAME",
    "OrderingChecker",
    "as_state_machine",
    "check_ordering",
    "transition_pairs",
]
