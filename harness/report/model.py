"""What the report shows, computed from a history and the verdicts on it.

Pure data, no HTML: lanes (one per agent, the nemesis last), the operations
drawn on them, the messages between them, injected faults, anomalies with
their witnessing operations, and per-agent latency and token figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.verdict import Verdict
from harness.history.model import INVOKE, OK, Op, pair_operations

NEMESIS = "nemesis"
FAULT_PREFIX = "fault."
MAX_DRAWN = 8000
MAX_MESSAGES = 4000


@dataclass(frozen=True, slots=True)
class Mark:
    """One operation (an invocation and its completion) on a lane."""

    lane: str
    start: int
    end: int
    f: str
    category: str
    outcome: str  # ok | fail | info
    ops: tuple[int, ...]
    label: str


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    queue: str
    sent_lane: str
    sent_at: int
    received_lane: str
    received_at: int
    ops: tuple[int, int]
    redelivery: bool


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    start: int
    end: int
    target: str
    ops: tuple[int, ...]
    label: str


@dataclass
class AgentStats:
    calls: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model_calls: int = 0

    def percentile(self, p: float) -> float:
        xs = sorted(self.latencies_ms)
        if not xs:
            return 0.0
        k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
        return xs[k]


@dataclass
class ReportModel:
    title: str
    source: str
    operations: int
    t0: int
    t1: int
    lanes: list[str]
    marks: list[Mark]
    messages: list[Message]
    faults: list[Fault]
    verdicts: list[Verdict]
    agents: dict[str, AgentStats]
    tasks: int
    hidden_polls: int = 0
    dropped_marks: int = 0
    dropped_messages: int = 0

    @property
    def witnesses(self) -> set[int]:
        return {i for v in self.verdicts for a in v.anomalies for i in a.ops}


def lane_of(op: Op) -> str:
    if op.process == NEMESIS or op.f.startswith(FAULT_PREFIX):
        return NEMESIS
    agent = op.meta.get("agent")
    return str(agent) if agent else str(op.process).split("/", 1)[0]


def category(f: str) -> str:
    if f.startswith(FAULT_PREFIX):
        return "fault"
    if f.startswith("effect."):
        return "effect"
    head = f.split(".", 1)[0]
    if f in ("sqs.SendMessage", "sqs.SendMessageBatch", "sns.Publish"):
        return "send"
    if f == "sqs.ReceiveMessage":
        return "receive"
    if head in ("sqs", "sns", "events"):
        return "queue"
    if head == "dynamodb":
        return "db"
    if head == "model":
        return "model"
    if head == "audit":
        return "finding"
    return "event"


def _label(inv: Op, done: Op | None) -> str:
    parts = [inv.f]
    if inv.key is not None:
        parts.append(str(inv.key))
    if done is not None and done.type != OK:
        parts.append(f"[{done.type}{': ' + done.error if done.error else ''}]")
    if inv.correlation_id:
        parts.append(f"cid {inv.correlation_id[:8]}")
    return " ".join(parts)


def _empty_poll(inv: Op, done: Op | None) -> bool:
    if inv.f != "sqs.ReceiveMessage" or done is None or done.type != OK:
        return False
    v = done.value if isinstance(done.value, dict) else {}
    return not v.get("messages")


def build_model(ops: Sequence[Op], verdicts: Sequence[Verdict], *, title: str, source: str) -> ReportModel:
    t0 = min((op.time for op in ops), default=0)
    t1 = max((op.time for op in ops), default=0)
    lanes: list[str] = []
    seen_lanes: set[str] = set()
    for op in ops:
        lane = lane_of(op)
        if lane not in seen_lanes:
            seen_lanes.add(lane)
            lanes.append(lane)
    if NEMESIS in seen_lanes:
        lanes.remove(NEMESIS)
        lanes.append(NEMESIS)

    witnesses = {i for v in verdicts for a in v.anomalies for i in a.ops}
    marks: list[Mark] = []
    faults: list[Fault] = []
    agents: dict[str, AgentStats] = defaultdict(AgentStats)
    hidden = 0
    for pair in pair_operations(ops):
        inv, done = pair.invoke, pair.complete
        lane = lane_of(inv)
        end = done.time if done is not None else t1
        ids = (inv.index,) if done is None or done is inv else (inv.index, done.index)
        if inv.f.startswith(FAULT_PREFIX):
            target = inv.value.get("target") if isinstance(inv.value, dict) else None
            faults.append(
                Fault(
                    inv.f[len(FAULT_PREFIX) :],
                    inv.time,
                    end,
                    str(target or inv.key or ""),
                    ids,
                    _label(inv, None),
                )
            )
        stats = agents[lane] if lane != NEMESIS else None
        if stats is not None and inv.type == INVOKE and "service" in inv.meta:
            stats.calls += 1
            stats.latencies_ms.append((end - inv.time) / 1e6)
            if pair.type != OK:
                stats.failures += 1
        if stats is not None and inv.f == "model.complete" and done is not None and done.type == OK:
            v = done.value if isinstance(done.value, dict) else {}
            stats.model_calls += 1
            stats.input_tokens += int(v.get("input_tokens") or 0)
            stats.output_tokens += int(v.get("output_tokens") or 0)
        if _empty_poll(inv, done) and not witnesses.intersection(ids):
            hidden += 1
            continue
        marks.append(Mark(lane, inv.time, end, inv.f, category(inv.f), pair.type, ids, _label(inv, done)))

    dropped = 0
    if len(marks) > MAX_DRAWN:
        keep = [m for m in marks if m.category in ("fault", "finding") or witnesses.intersection(m.ops)]
        rest = [m for m in marks if m not in keep]
        room = max(0, MAX_DRAWN - len(keep))
        dropped = len(rest) - room
        marks = sorted(keep + rest[:room], key=lambda m: m.start)

    messages, dropped_msgs = _messages(ops)
    tasks = len({op.correlation_id for op in ops if op.correlation_id})
    return ReportModel(
        title=title,
        source=source,
        operations=len(ops),
        t0=t0,
        t1=t1,
        lanes=lanes,
        marks=marks,
        messages=messages,
        faults=faults,
        verdicts=list(verdicts),
        agents={a: s for a, s in agents.items() if s.calls or s.model_calls},
        tasks=tasks,
        hidden_polls=hidden,
        dropped_marks=dropped,
        dropped_messages=dropped_msgs,
    )


def _messages(ops: Sequence[Op]) -> tuple[list[Message], int]:
    """Sends (SQS, SNS) joined to the receives of the same logical message id."""
    sent: dict[str, tuple[str, int, int, str]] = {}
    out: list[Message] = []
    received: set[str] = set()
    dropped = 0
    for op in ops:
        if op.type != OK or not isinstance(op.value, dict):
            continue
        if op.f in ("sqs.SendMessage", "sns.Publish"):
            mid = op.value.get("message_id")
            if isinstance(mid, str):
                sent.setdefault(mid, (lane_of(op), op.time, op.index, str(op.key)))
        elif op.f == "sqs.ReceiveMessage":
            for m in op.value.get("messages") or []:
                mid = m.get("message_id") if isinstance(m, dict) else None
                if not isinstance(mid, str) or mid not in sent:
                    continue
                lane, at, idx, queue = sent[mid]
                if len(out) >= MAX_MESSAGES:
                    dropped += 1
                    continue
                out.append(
                    Message(
                        mid,
                        str(op.key or queue),
                        lane,
                        at,
                        lane_of(op),
                        op.time,
                        (idx, op.index),
                        mid in received,
                    )
                )
                received.add(mid)
    return out, dropped


def verdict_summary(v: Verdict) -> dict[str, Any]:
    return {
        "checker": v.checker,
        "valid": v.valid,
        "violations": len(v.violations),
        "warnings": len(v.warnings),
    }


__all__ = ["FAULT_PREFIX", "NEMESIS", "AgentStats", "Fault", "Mark", "Message", "ReportModel", "build_model"]
