"""Workers: one small protocol (``capability``, ``handle(task, ctx) -> result``),
and the three the reference system ships with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from harness.instrument.effects import Effects
from reference_system.ledger import BudgetBusy, Ledger
from reference_system.llm import Completion, Model, count_tokens
from reference_system.messages import SubtaskMessage


class BudgetExceeded(Exception):
    """The subtask would spend more tokens than its share of the budget."""


class PermanentFailure(Exception):
    """The subtask cannot succeed however often it is retried."""


class IdempotentEffects:
    """``ctx.effects``: external side effects that happen once per logical key,
    however often a message is redelivered.

    The effect is carried out the way payment and messaging APIs offer it:
    with an idempotency key that the provider deduplicates atomically with
    the effect itself. Here the provider is a ledger table and the effect is a
    conditional put of the key: it applies once, and a repeat is refused.
    A lost acknowledgement leaves the effect's outcome unknown (recorded as
    ``info``); the retry then finds it done.
    """

    def __init__(self, ddb: Any, table: str, effects: Effects) -> None:
        self._ddb = ddb
        self._table = table
        self.recorder = effects

    def perform(self, kind: str, key: str, value: Any = None) -> bool:
        """Perform effect ``kind`` for ``key`` unless it already happened;
        returns whether it happened now."""
        ddb = self._ddb

        def apply() -> bool:
            try:
                ddb.put_item(
                    TableName=self._table,
                    Item={"pk": {"S": f"{kind}:{key}"}, "agent": {"S": self.recorder.agent}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ddb.exceptions.ConditionalCheckFailedException:
                return False
            return True

        return self.recorder.attempt(f"effect.{kind}", key, apply, value)


@dataclass
class WorkerContext:
    """What a worker may use while handling one subtask."""

    agent: str
    model: Model
    effects: IdempotentEffects
    recorder: Effects
    task: SubtaskMessage
    tokens_used: int = field(default=0)
    #: Durable budget accounting across attempts (None: this attempt only).
    ledger: Ledger | None = None

    @property
    def budget(self) -> int:
        return self.task.token_budget

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Completion:
        """Call the model within this subtask's token budget (recorded).

        The budget holds across redeliveries: what earlier attempts spent is
        in the ledger, and a call first holds the tokens it may use there, so
        two attempts in flight cannot both spend the same share. The model may
        generate only what is left; an answer cut short fails the subtask."""
        sub = self.task.subtask_id
        # With a ledger, what this attempt spent so far is in it already.
        spent, held = self.ledger.spent(sub) if self.ledger else (self.tokens_used, 0)
        remaining = self.budget - spent - held
        need = count_tokens(prompt)
        if need >= remaining:
            if held:
                raise BudgetBusy(f"{sub}: another attempt holds {held} tokens of the budget")
            raise BudgetExceeded(
                f"token budget exceeded: prompt needs {need} tokens, {max(remaining, 0)} of {self.budget} left"
            )
        hold = self.ledger.hold(sub, remaining, self.budget) if self.ledger else None
        if self.ledger and hold is None:
            raise BudgetBusy(f"{sub}: the budget changed under this attempt")
        limit = remaining - need
        used = 0
        try:
            c = self.recorder.run(
                "model.complete",
                sub,
                lambda: self.model.complete(kind, prompt, {**context, "max_tokens": limit}),
                value={
                    "task_id": self.task.task_id,
                    "budget": self.budget,
                    "max_tokens": limit,
                    "kind": kind,
                    "model": self.model.name,
                },
                result=lambda c: {"input_tokens": c.input_tokens, "output_tokens": c.output_tokens},
            )
            used = c.total_tokens
        finally:
            if self.ledger and hold is not None:
                # A call that failed is charged its prompt: what it generated is
                # unknown. A settle that fails is owed and paid later: the
                # answer (or the call's own error) stands.
                self.ledger.settle(sub, hold, used if used else need)
        self.tokens_used += used
        if used > remaining:  # a model that ignored its limit
            raise BudgetExceeded(f"token budget exceeded: used {spent + used} of {self.budget} tokens")
        if getattr(c, "truncated", False):
            raise BudgetExceeded(
                f"token budget exceeded: the answer was cut at {c.output_tokens} tokens "
                f"({spent + used} of {self.budget} used)"
            )
        return c


@runtime_checkable
class Worker(Protocol):
    capability: str

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]: ...


class ResearchWorker:
    capability = "research"

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.effects.perform("fetch", task.subtask_id, value={"sources": len(c.output["facts"])})
        return c.output


class WriteWorker:
    capability = "write"

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        facts = task.inputs.get("facts", [])
        if not facts:
            raise PermanentFailure("nothing to write about: no research facts")
        prompt = f"Write a brief on {task.topic} from {len(facts)} facts: " + " ".join(
            f["text"] for f in facts
        )
        c = ctx.complete("write", prompt, {"topic": task.topic, "facts": facts})
        ctx.effects.perform("publish", task.task_id, value={"title": c.output["title"]})
        return c.output


class ReviewWorker:
    capability = "review"

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        draft = task.inputs.get("draft", {})
        prompt = f"Review this brief: {draft.get('title', '')} " + " ".join(draft.get("paragraphs", []))
        c = ctx.complete("review", prompt, {"draft": draft})
        return {**c.output, "draft": draft}


DEFAULT_WORKERS: dict[str, type] = {
    "research": ResearchWorker,
    "write": WriteWorker,
    "review": ReviewWorker,
}


def load_worker(spec: str) -> Worker:
    """A worker from ``pkg.module:Class`` (instantiated with no arguments)."""
    import importlib

    mod_name, _, cls_name = spec.partition(":")
    if not cls_name:
        raise ValueError(f"worker spec {spec!r} must look like pkg.module:Class")
    obj = getattr(importlib.import_module(mod_name), cls_name)()
    if not isinstance(obj, Worker):
        raise TypeError(f"{spec} does not implement the Worker protocol (capability, handle)")
    return obj
