"""What auditors read: one agent's output, and what is known of the run so far.

After the fact, both come from a history: ``agent.output`` operations carry
the outputs, and :class:`World` learns sources, agents, tools, side effects
and model spend from the operations before them. Live, an output comes from
the task store and the world from the outputs audited so far.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from harness.history.model import INFO, OK, Op

AGENT_OUTPUT: Final = "agent.output"
MODEL_COMPLETE: Final = "model.complete"
EFFECT_PREFIX: Final = "effect."
SQS_RECEIVE: Final = "sqs.ReceiveMessage"

#: The reference system's capabilities and the tools its workers use.
DEFAULT_CAPABILITIES: Final = frozenset({"research", "write", "review"})
DEFAULT_TOOLS: Final = frozenset({"fetch", "publish"})


@dataclass(frozen=True, slots=True)
class Source:
    """A research fact a brief may cite."""

    source_id: str
    text: str
    value: float | None = None
    op: int | None = None


@dataclass(frozen=True, slots=True)
class AgentOutput:
    """One worker's answer to one subtask."""

    subtask_id: str
    task_id: str | None
    capability: str | None
    output: Any
    status: str = "ok"
    agent: str | None = None
    reason: str | None = None
    tokens_used: int | None = None
    budget: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    op: int | None = None
    process: str | None = None

    @property
    def witnesses(self) -> tuple[int, ...]:
        return (self.op,) if self.op is not None else ()

    @classmethod
    def from_op(cls, op: Op) -> AgentOutput:
        v = op.value if isinstance(op.value, dict) else {}
        return cls(
            subtask_id=str(op.key),
            task_id=v.get("task_id"),
            capability=v.get("capability"),
            output=v.get("output"),
            status=str(v.get("status", "ok")),
            agent=op.meta.get("agent"),
            reason=v.get("reason"),
            tokens_used=_int(v.get("tokens_used")),
            budget=_int(v.get("budget")),
            op=op.index,
            process=str(op.process),
        )


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


class World:
    """What auditors know of the run: research sources per task, the agents and
    tools that exist, declared side effects and model spend."""

    def __init__(
        self,
        *,
        agents: Iterable[str] = (),
        tools: Iterable[str] = DEFAULT_TOOLS,
        capabilities: Iterable[str] = DEFAULT_CAPABILITIES,
        learn_agents: bool = True,
    ) -> None:
        self.agents: set[str] = set(agents)
        self.tools: set[str] = set(tools)
        self.capabilities: set[str] = set(capabilities)
        self.learn_agents = learn_agents
        self.sources: dict[Any, dict[str, list[Source]]] = defaultdict(dict)
        self.effects: dict[tuple[str, Any], list[int]] = defaultdict(list)
        self.effect_order: list[tuple[str, Any]] = []
        #: tokens of acknowledged model calls per subtask, over every attempt
        self.model_tokens: Counter[Any] = Counter()
        #: per process: tokens per subtask since the process last received work
        self.attempt_tokens: dict[Any, Counter[Any]] = defaultdict(Counter)
        #: per process: subtasks whose model calls in this attempt had an unknown outcome
        self.attempt_unknown: dict[Any, set[Any]] = defaultdict(set)

    # -- learning from the history ----------------------------------------------

    def observe(self, op: Op) -> None:
        """Learn from one history operation (call for every op, in order)."""
        agent = op.meta.get("agent")
        if self.learn_agents and isinstance(agent, str):
            self.agents.add(agent)
        f = op.f
        if op.type == OK and f.startswith(EFFECT_PREFIX):
            kind = f[len(EFFECT_PREFIX) :]
            self.tools.add(kind)
            k = (kind, _hashable(op.key))
            if k not in self.effects:
                self.effect_order.append(k)
            self.effects[k].append(op.index)
        elif f == MODEL_COMPLETE and op.type == OK:
            v = op.value if isinstance(op.value, dict) else {}
            tokens = (_int(v.get("input_tokens")) or 0) + (_int(v.get("output_tokens")) or 0)
            key = _hashable(op.key)
            self.model_tokens[key] += tokens
            self.attempt_tokens[_hashable(op.process)][key] += tokens
        elif f == MODEL_COMPLETE and op.type == INFO:
            self.attempt_unknown[_hashable(op.process)].add(_hashable(op.key))
        elif f == SQS_RECEIVE and op.type == OK and isinstance(op.value, dict) and op.value.get("messages"):
            self.attempt_tokens.pop(_hashable(op.process), None)
            self.attempt_unknown.pop(_hashable(op.process), None)

    def learn_output(self, out: AgentOutput) -> None:
        """Remember what an output contributes (research facts become sources)."""
        if out.capability == "research" and out.status == "ok" and out.task_id is not None:
            for fact in _facts(out.output):
                self._add_source(out.task_id, fact, out.op)

    def _add_source(self, task_id: Any, fact: dict[str, Any], op: int | None) -> None:
        sid = fact.get("source_id")
        if not isinstance(sid, str):
            return
        value = fact.get("value")
        src = Source(
            sid, str(fact.get("text", "")), float(value) if isinstance(value, (int, float)) else None, op
        )
        known = self.sources[task_id].setdefault(sid, [])
        if src not in known:
            known.append(src)

    # -- questions auditors ask -------------------------------------------------

    def sources_for(self, out: AgentOutput) -> dict[str, list[Source]]:
        """Sources the output may cite: the task's research, and facts handed in its inputs."""
        found: dict[str, list[Source]] = {k: list(v) for k, v in self.sources.get(out.task_id, {}).items()}
        for fact in _facts(out.inputs):
            sid = fact.get("source_id")
            if isinstance(sid, str):
                value = fact.get("value")
                src = Source(
                    sid, str(fact.get("text", "")), float(value) if isinstance(value, (int, float)) else None
                )
                if all((s.text, s.value) != (src.text, src.value) for s in found.get(sid, [])):
                    found.setdefault(sid, []).append(src)
        return found

    def attempt_spend(self, out: AgentOutput) -> int | None:
        """Tokens the output's producer spent on its subtask in this attempt,
        or None if unknown (no recorded calls, or a call of unknown outcome)."""
        if out.process is None or out.subtask_id in self.attempt_unknown.get(out.process, ()):
            return None
        spent = self.attempt_tokens.get(out.process, Counter()).get(out.subtask_id)
        return spent


def _facts(obj: Any) -> list[dict[str, Any]]:
    if not isinstance(obj, dict):
        return []
    facts = obj.get("facts")
    return [f for f in facts if isinstance(f, dict)] if isinstance(facts, list) else []


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return repr(v)
    return v


__all__ = ["AGENT_OUTPUT", "DEFAULT_CAPABILITIES", "DEFAULT_TOOLS", "AgentOutput", "Source", "World"]
