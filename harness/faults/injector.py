"""Carrying out a fault plan.

AWS-call faults run as an interceptor in the instrumented Session's hook chain,
so they act the same on moto, LocalStack and AWS. Process faults (crash,
pause, clock skew) and model faults are asked for by the runner and by the
model wrapper through the same object, so one plan drives everything. Every
injected fault is recorded as an ``info`` operation of process ``nemesis``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from harness.faults.contract import THROTTLE_CODES as THROTTLE_CODES  # re-exported
from harness.faults.contract import throttle_answer
from harness.faults.plan import CALL_KINDS, FaultPlan, FaultState, call_resources
from harness.history.model import INFO
from harness.history.recorder import Recorder
from harness.instrument.session import Call, HttpAndParsed, error_response

NEMESIS = "nemesis"


class AgentCrash(BaseException):  # noqa: N818 - not an error the agent may catch
    """Raised inside an agent to kill it where it stands (simulator)."""

    def __init__(self, agent: str) -> None:
        super().__init__(f"{agent} crashed")
        self.agent = agent


class FaultInjector:
    """One per process; install it on every Session of that process."""

    def __init__(
        self,
        plan: FaultPlan,
        recorder: Recorder,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_crash: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.recorder = recorder
        start = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - start)
        self.sleep = sleep
        self.on_crash = on_crash
        self._states = [FaultState(n, f, plan.rng_for(n)) for n, f in plan.named()]
        self._call_states = [s for s in self._states if s.fault.kind in CALL_KINDS or _call_crash(s)]
        # Finding the resources a call addresses costs a little: only when asked.
        self._by_resource = any(s.fault.target.resource is not None for s in self._call_states)
        self._delivered: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=64))
        self._fifo: dict[str, _FifoLedger] = defaultdict(_FifoLedger)
        self._held: dict[str, list[_Waiting]] = {}
        self._versions: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        kinds = {s.fault.kind for s in self._states}
        # Remembering deliveries and item versions costs copies: only when needed.
        self._keep_deliveries = "duplicate_delivery" in kinds
        self._keep_versions = "stale_read" in kinds
        self._skewed: set[str] = set()
        # Sessions of one process may be used from several threads: trigger
        # counters, random streams and the remembered messages and versions
        # change under this lock (never held while a call is in flight).
        self._lock = threading.RLock()
        self.injected = 0

    # -- bookkeeping ------------------------------------------------------------

    def record(self, kind: str, key: str, correlation_id: str | None = None, **value: Any) -> None:
        with self._lock:
            self.injected += 1
        self.recorder.record(
            NEMESIS, INFO, f"fault.{kind}", key, value or None, correlation_id=correlation_id
        )

    def install(self, session: Any) -> FaultInjector:
        session.add_interceptor(self)
        return self

    def _firing(
        self, kinds: frozenset[str] | set[str], agent: str, service: str, operation: str
    ) -> list[FaultState]:
        now = self.clock()
        with self._lock:
            return [
                s
                for s in self._states
                if s.fault.kind in kinds
                and s.fault.target.matches(agent, service, operation)
                and s.should_fire(now)
            ]

    # -- AWS calls ----------------------------------------------------------------

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed:
        now = self.clock()
        resources = call_resources(call.service, call.operation, call.params) if self._by_resource else ()
        with self._lock:
            fired = [
                s
                for s in self._call_states
                if s.fault.target.matches(call.agent, call.service, call.operation, resources)
                and s.should_fire(now)
            ]
        where = f"{call.agent}:{call.service}.{call.operation}"
        crash_after = None
        for s in fired:
            kind, p = s.fault.kind, s.fault.params
            if kind == "crash":
                if p.get("when", "after") == "before":
                    self._crash(call, s.name, where)
                crash_after = s
            elif kind == "partition":
                self.record(kind, where, call.correlation_id, fault=s.name)
                raise EndpointConnectionError(endpoint_url=f"partitioned://{call.service}")
            elif kind == "drop_request":
                self.record(kind, where, call.correlation_id, fault=s.name)
                raise ConnectTimeoutError(endpoint_url=f"dropped://{call.service}")
            elif kind == "throttle":
                code, status = throttle_answer(call.service, p.get("code"))
                self.record(kind, where, call.correlation_id, fault=s.name, code=code)
                return error_response(code, "Rate exceeded", status)
            elif kind == "delay":
                secs = float(p.get("seconds", 1.0))
                self.record(kind, where, call.correlation_id, fault=s.name, seconds=secs)
                self.sleep(secs)
        lose_ack = next((s for s in fired if s.fault.kind == "lose_ack"), None)
        stale = next((s for s in fired if s.fault.kind == "stale_read"), None)
        http, parsed = proceed()
        if crash_after is not None:
            self._crash(call, crash_after.name, where)
        if http.status_code < 300:
            with self._lock:
                self._observe(call, parsed)
                if call.service == "sqs" and call.operation == "ReceiveMessage":
                    self._shuffle(call, parsed, fired, where)
                elif stale is not None:
                    parsed = self._stale(call, parsed, stale.name, where)
        if lose_ack is not None:
            code = lose_ack.fault.params.get("error", "timeout")
            self.record("lose_ack", where, call.correlation_id, fault=lose_ack.name, error=code)
            if code == "timeout":
                raise ReadTimeoutError(endpoint_url=f"lost-ack://{call.service}")
            return error_response(code, "We encountered an internal error", 500)
        return http, parsed

    def _crash(self, call: Call, name: str, where: str) -> None:
        self.record("crash", where, call.correlation_id, fault=name, agent=call.agent)
        if self.on_crash is not None:
            self.on_crash(call.agent)
        raise AgentCrash(call.agent)

    def _observe(self, call: Call, parsed: dict[str, Any]) -> None:
        """Remember what was delivered (and, on FIFO queues, deleted) and
        which item versions existed."""
        if call.service == "sqs":
            if self._keep_deliveries:
                self._observe_sqs(call, parsed)
        elif self._keep_versions and call.service == "dynamodb" and call.operation in ("GetItem", "PutItem"):
            if call.operation == "GetItem":
                if _projection(call.params) is not None:
                    return  # a partial item is not a version of it
                item = parsed.get("Item")
            else:
                item = call.params.get("Item")
            if item and "N" in (item.get("version") or {}):
                hist = self._versions[str(call.key)]
                v = int(item["version"]["N"])
                if not hist or hist[-1][0] != v:
                    hist.append((v, copy.deepcopy(item)))

    def _observe_sqs(self, call: Call, parsed: dict[str, Any]) -> None:
        queue = str(call.key)
        if call.operation == "ReceiveMessage":
            ledger = self._fifo[queue] if _is_fifo(queue) else None
            for m in parsed.get("Messages", []) or []:
                if ledger is not None:
                    ledger.delivered(m)
                else:
                    self._delivered[queue].append(copy.deepcopy(m))
            return
        # Deletions matter on FIFO queues only (DeleteMessageBatch has no key).
        url = call.params.get("QueueUrl")
        queue = url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) else queue
        ledger = self._fifo.get(queue) if _is_fifo(queue) else None
        if ledger is None:
            return
        if call.operation == "DeleteMessage":
            ledger.deleted(call.params.get("ReceiptHandle"))
        elif call.operation == "DeleteMessageBatch":
            done = {e.get("Id") for e in parsed.get("Successful") or []}
            for e in call.params.get("Entries") or []:
                if e.get("Id") in done:
                    ledger.deleted(e.get("ReceiptHandle"))
        elif call.operation == "PurgeQueue":
            ledger.purged()

    def _shuffle(self, call: Call, parsed: dict[str, Any], fired: list[FaultState], where: str) -> None:
        """Apply duplicate delivery and reordering to a successful receive.

        A receive never returns more than its MaxNumberOfMessages, as SQS
        never does: what does not fit (a message held back by ``reorder``, a
        duplicate) waits for the next receive on the queue that has room.

        On a FIFO queue a duplicate is only what SQS itself may redeliver
        there: a message delivered and not deleted since, with no later
        message of its group delivered (see :class:`_FifoLedger`); checked
        when it is chosen and again when it is delivered. Where there is none,
        the fault does nothing (and records nothing)."""
        queue = str(call.key)
        ledger = self._fifo[queue] if _is_fifo(queue) else None
        limit = _max_messages(call.params)
        msgs: list[dict[str, Any]] = parsed.setdefault("Messages", [])
        fresh = {m.get("MessageId") for m in msgs}
        # Waiting from earlier receives: held-back messages and undelivered
        # duplicates. A copy of a message SQS has just delivered again by
        # itself (its visibility timeout ran out) is stale: drop it.
        waiting = [w for w in self._held.pop(queue, []) if w[0].get("MessageId") not in fresh]
        held_now: list[_Waiting] = []
        for s in fired:
            if s.fault.kind == "duplicate_delivery":
                # Never a second copy of a message in this same response: a copy
                # of an earlier delivery now, or else one of this response's
                # messages again on a later receive.
                if ledger is not None:
                    earlier = ledger.redeliverable(exclude=fresh)
                    now = (
                        [] if earlier else [m for m in ledger.redeliverable() if m.get("MessageId") in fresh]
                    )
                else:
                    delivered = self._delivered[queue]
                    earlier = [m for m in delivered if m.get("MessageId") not in fresh]
                    now = [m for m in delivered if m.get("MessageId") in fresh] if not earlier else []
                if earlier or now:
                    dup = copy.deepcopy(s.rng.choice(earlier or now))
                    attrs = dup.setdefault("Attributes", {})
                    attrs["ApproximateReceiveCount"] = str(int(attrs.get("ApproximateReceiveCount", "1")) + 1)
                    (waiting if earlier else held_now).append((dup, s.name))
            elif s.fault.kind == "reorder" and ledger is None and msgs:
                if len(msgs) > 1:
                    msgs.reverse()
                    self.record("reorder", where, call.correlation_id, fault=s.name, reversed=len(msgs))
                else:
                    held_now.append((msgs.pop(), None))
                    self.record("reorder", where, call.correlation_id, fault=s.name, held=1)
        left: list[_Waiting] = []
        for m, dup_of in waiting:
            if len(msgs) >= limit:
                left.append((m, dup_of))
                continue
            if ledger is not None and dup_of is not None:
                if not ledger.may_redeliver(m.get("MessageId")):
                    continue  # deleted, or overtaken by its group since: SQS would not
                ledger.delivered(m)
            msgs.append(m)
            if dup_of is not None:
                self.record(
                    "duplicate_delivery", where, call.correlation_id, fault=dup_of, sqs_id=m.get("MessageId")
                )
        left += held_now
        if left:
            self._held[queue] = left
        if not msgs:
            parsed.pop("Messages", None)

    def _stale(self, call: Call, parsed: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        """Serve the latest earlier version of the item seen by this injector
        (written by a PutItem or returned by a read), if there is one."""
        if call.operation != "GetItem" or call.params.get("ConsistentRead"):
            return parsed
        item = parsed.get("Item")
        if not item or "N" not in (item.get("version") or {}):
            return parsed
        projection = _projection(call.params)
        if projection == ():
            return parsed  # nested paths: not worth modelling
        current = int(item["version"]["N"])
        key = call.params.get("Key") or {}
        # Versions are filed by the harness's guess at the item's key; check the
        # real key too, so that another item is never served in its place.
        older = [
            it
            for v, it in self._versions[str(call.key)]
            if v < current and all(it.get(k) == kv for k, kv in key.items())
        ]
        if not older:
            return parsed
        old = copy.deepcopy(older[-1])
        if projection is not None:
            old = {k: v for k, v in old.items() if k in projection}
        self.record(
            "stale_read",
            where,
            call.correlation_id,
            fault=name,
            served=int(older[-1]["version"]["N"]),
            current=current,
        )
        return {**parsed, "Item": old}

    # -- agents and models ------------------------------------------------------

    def on_step(self, agent: str) -> float:
        """Called by a runner before each step of ``agent``. Raises AgentCrash
        for a (step-counted) crash; returns the seconds to pause the agent for
        (0.0 for none): the runner decides how to pause it."""
        for s in self._firing({"crash"}, agent, "*", "*"):
            if _call_crash(s):
                continue
            self.record("crash", agent, fault=s.name, agent=agent)
            if self.on_crash is not None:
                self.on_crash(agent)
            raise AgentCrash(agent)
        pause = 0.0
        for s in self._firing({"pause"}, agent, "*", "*"):
            secs = float(s.fault.params.get("seconds", 1.0))
            self.record("pause", agent, fault=s.name, agent=agent, seconds=secs)
            pause += secs
        return pause

    def restart_delay(self, agent: str) -> float | None:
        """Seconds after which a crashed ``agent`` comes back (None: never).
        Any crash fault aimed at the agent says, step- or call-aimed alike."""
        for s in self._states:
            if s.fault.kind == "crash" and s.fault.target.matches_agent(agent):
                r = s.fault.params.get("restart_after", 5.0)
                return None if r is None else float(r)
        return 5.0

    def clock_skew(self, agent: str) -> float:
        """Seconds by which ``agent``'s clock is off (sum of the skew faults
        aimed at it). Recorded once per agent, the first time it is asked."""
        skew = sum(
            float(s.fault.params.get("seconds", 1.0))
            for s in self._states
            if s.fault.kind == "clock_skew" and s.fault.target.matches_agent(agent)
        )
        if skew and agent not in self._skewed:
            with self._lock:
                first = agent not in self._skewed
                self._skewed.add(agent)
            if first:
                self.record("clock_skew", agent, agent=agent, seconds=skew)
        return skew

    def model_fault(self, agent: str, kind: str) -> str | None:
        """The model fault mode (malformed, empty, timeout, overlong) for this call, if one fires."""
        for s in self._firing({"model"}, agent, "model", kind):
            mode = str(s.fault.params.get("mode", "malformed"))
            self.record("model", f"{agent}:model.{kind}", fault=s.name, mode=mode)
            return mode
        return None


#: A message waiting for a receive with room: (message, name of the
#: duplicate_delivery fault that made it, or None for a held-back message).
_Waiting = tuple[dict[str, Any], str | None]


def _max_messages(params: dict[str, Any]) -> int:
    try:
        return max(1, int(params.get("MaxNumberOfMessages", 1)))
    except (TypeError, ValueError):
        return 1


def _projection(params: dict[str, Any]) -> tuple[str, ...] | None:
    """The top-level attributes a GetItem asks for: None for the whole item,
    () for a projection this module does not model (nested paths)."""
    if params.get("AttributesToGet"):
        return tuple(params["AttributesToGet"])
    expr = params.get("ProjectionExpression")
    if not expr:
        return None
    names = params.get("ExpressionAttributeNames") or {}
    out = []
    for part in expr.split(","):
        part = part.strip()
        if not part or "." in part or "[" in part:
            return ()
        out.append(names.get(part, part))
    return tuple(out)


def _call_crash(s: FaultState) -> bool:
    """A crash aimed at particular calls (service, operation or resource
    given) rather than at steps."""
    t = s.fault.target
    return s.fault.kind == "crash" and (t.service != "*" or t.operation != "*" or t.resource is not None)


def _is_fifo(queue: str) -> bool:
    return queue.endswith(".fifo")


@dataclass
class _Delivery:
    message: dict[str, Any]
    group: str | None
    seq: int
    handles: list[str] = field(default_factory=list)
    deleted: bool = False


class _FifoLedger:
    """What one FIFO queue delivered through this injector, in order, and
    which of those messages were deleted since.

    SQS redelivers a FIFO message only while it is in flight (its visibility
    timeout ran out, or its delete failed), and before any later message of
    its group: a group is served one message at a time, in order. So a
    message may be duplicated only if it was delivered, is not deleted, no
    message of its group was delivered after it, and every other delivered
    message of its group is deleted. A message whose group is unknown (a
    receive that did not ask for MessageGroupId) may be of any group.
    Deletions made outside this injector's sessions are not seen."""

    LIMIT = 256

    def __init__(self) -> None:
        self.seq = 0
        self.by_id: OrderedDict[str, _Delivery] = OrderedDict()
        self.by_handle: dict[str, str] = {}

    def delivered(self, m: dict[str, Any]) -> None:
        mid = m.get("MessageId")
        if not isinstance(mid, str):
            return
        self.seq += 1
        group = (m.get("Attributes") or {}).get("MessageGroupId")
        before = self.by_id.pop(mid, None)
        d = _Delivery(copy.deepcopy(m), group if isinstance(group, str) else None, self.seq)
        d.handles = before.handles if before is not None else []
        handle = m.get("ReceiptHandle")
        if isinstance(handle, str) and handle not in d.handles:
            d.handles.append(handle)
            self.by_handle[handle] = mid
        self.by_id[mid] = d
        while len(self.by_id) > self.LIMIT:
            _, old = self.by_id.popitem(last=False)
            for h in old.handles:
                self.by_handle.pop(h, None)

    def deleted(self, handle: Any) -> None:
        mid = self.by_handle.get(handle) if isinstance(handle, str) else None
        if mid is not None and mid in self.by_id:
            self.by_id[mid].deleted = True

    def purged(self) -> None:
        for d in self.by_id.values():
            d.deleted = True

    def may_redeliver(self, mid: Any) -> bool:
        d = self.by_id.get(mid) if isinstance(mid, str) else None
        return d is not None and self._allows(d, self._groups())

    def redeliverable(self, exclude: Collection[Any] = ()) -> list[dict[str, Any]]:
        """The messages SQS could deliver again now, as last delivered."""
        groups = self._groups()
        return [d.message for mid, d in self.by_id.items() if mid not in exclude and self._allows(d, groups)]

    def _groups(self) -> dict[str | None, tuple[int, int]]:
        """Per group (None: unknown): the last delivery's number and how many
        of its messages are not deleted."""
        out: dict[str | None, tuple[int, int]] = {}
        for d in self.by_id.values():
            last, live = out.get(d.group, (0, 0))
            out[d.group] = (max(last, d.seq), live + (not d.deleted))
        return out

    @staticmethod
    def _allows(d: _Delivery, groups: dict[str | None, tuple[int, int]]) -> bool:
        if d.deleted:
            return False
        # The groups d may share: its own and the unknown one; all of them if d's is unknown.
        same = list(groups.values()) if d.group is None else [groups[d.group], groups.get(None, (0, 0))]
        return max(last for last, _ in same) == d.seq and sum(live for _, live in same) == 1


def make_response(parsed: dict[str, Any], status: int = 200) -> HttpAndParsed:
    http = AWSResponse("https://harness.invalid/", status, {}, None)
    http._content = b""
    return http, parsed
