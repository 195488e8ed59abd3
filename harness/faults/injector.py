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
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from harness.faults.plan import CALL_KINDS, FaultPlan, FaultState, call_resources
from harness.history.model import INFO
from harness.history.recorder import Recorder
from harness.instrument.session import Call, HttpAndParsed, error_response

#: The error code each service answers with when it throttles.
THROTTLE_CODES: dict[str, str] = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sqs": "RequestThrottled",
    "sns": "Throttling",
    "events": "ThrottlingException",
    "stepfunctions": "ThrottlingException",
}

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
                code = p.get("code") or THROTTLE_CODES.get(call.service, "ThrottlingException")
                self.record(kind, where, call.correlation_id, fault=s.name, code=code)
                return error_response(code, "Rate exceeded", 400)
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
        """Remember what was delivered and which item versions existed."""
        if call.service == "sqs" and call.operation == "ReceiveMessage":
            if self._keep_deliveries:
                for m in parsed.get("Messages", []) or []:
                    self._delivered[str(call.key)].append(copy.deepcopy(m))
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

    def _shuffle(self, call: Call, parsed: dict[str, Any], fired: list[FaultState], where: str) -> None:
        """Apply duplicate delivery and reordering to a successful receive.

        A receive never returns more than its MaxNumberOfMessages, as SQS
        never does: what does not fit (a message held back by ``reorder``, a
        duplicate) waits for the next receive on the queue that has room."""
        queue = str(call.key)
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
                delivered = self._delivered[queue]
                earlier = [m for m in delivered if m.get("MessageId") not in fresh]
                now = [m for m in delivered if m.get("MessageId") in fresh] if not earlier else []
                if earlier or now:
                    dup = copy.deepcopy(s.rng.choice(earlier or now))
                    attrs = dup.setdefault("Attributes", {})
                    attrs["ApproximateReceiveCount"] = str(int(attrs.get("ApproximateReceiveCount", "1")) + 1)
                    (waiting if earlier else held_now).append((dup, s.name))
            elif s.fault.kind == "reorder" and not queue.endswith(".fifo") and msgs:
                if len(msgs) > 1:
                    msgs.reverse()
                    self.record("reorder", where, call.correlation_id, fault=s.name, reversed=len(msgs))
                else:
                    held_now.append((msgs.pop(), None))
                    self.record("reorder", where, call.correlation_id, fault=s.name, held=1)
        room = max(0, limit - len(msgs))
        for m, dup_of in waiting[:room]:
            msgs.append(m)
            if dup_of is not None:
                self.record(
                    "duplicate_delivery", where, call.correlation_id, fault=dup_of, sqs_id=m.get("MessageId")
                )
        left = waiting[room:] + held_now
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
        """The model fault mode (malformed, timeout, overlong) for this call, if one fires."""
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


def make_response(parsed: dict[str, Any], status: int = 200) -> HttpAndParsed:
    http = AWSResponse("https://harness.invalid/", status, {}, None)
    http._content = b""
    return http, parsed
