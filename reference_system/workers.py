"""Workers: one small protocol (``capability``, ``handle(task, ctx) -> result``),
and the three the reference system ships with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from harness.instrument.effects import Effects
from harness.system.worker import PermanentFailure, Worker, load_worker
from reference_system.budget import BudgetExceeded, complete_within
from reference_system.ledger import Ledger
from reference_system.llm import Completion, Model
from reference_system.messages import SubtaskMessage
from reference_system.outputs import DraftOutput, Payload, ResearchOutput, ReviewOutput


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


class ChargedModel:
    """``ctx.model``: the model as a worker sees it. Every call, whichever
    method the worker uses, goes through :meth:`WorkerContext.complete`:
    recorded in the history and charged to the subtask's budget."""

    def __init__(self, ctx: WorkerContext, model: Model) -> None:
        self._ctx = ctx
        self.name = model.name

    def complete(self, kind: str, prompt: str, context: dict[str, Any] | None = None) -> Completion:
        return self._ctx.complete(kind, prompt, dict(context or {}))


@dataclass
class WorkerContext:
    """What a worker may use while handling one subtask:

    - ``complete(kind, prompt, context)`` (or ``model.complete``, the same
      thing): the model, recorded and within the subtask's token budget;
    - ``effects.perform(kind, key)``: a side effect, once per key;
    - ``client(service)``: an AWS client of the agent's own instrumented
      session (recorded and faulted like the rest of the system), and
      ``resources``: the system's deployed queues and tables;
    - ``extend_visibility(seconds)``: a heartbeat, keeping the message being
      handled from being delivered again while a long handler works.
    """

    agent: str
    model: Any
    effects: Any
    recorder: Effects
    task: SubtaskMessage
    tokens_used: int = field(default=0)
    #: Durable budget accounting across attempts (None: this attempt only).
    ledger: Ledger | None = None
    #: The agent's instrumented session and the system's resources (None where there is no AWS).
    session: Any = None
    resources: Any = None
    #: ``seconds -> None``: extends the visibility of the message in hand (None: no message).
    heartbeat: Any = None

    def __post_init__(self) -> None:
        self._model = self.model
        self.model = ChargedModel(self, self._model)

    @property
    def budget(self) -> int:
        return self.task.token_budget

    def client(self, service: str) -> Any:
        """A client of the agent's instrumented session (a clear error where the context has none)."""
        if self.session is None:
            raise RuntimeError(f"{self.agent}: this worker context has no AWS session")
        return self.session.client(service)

    def extend_visibility(self, seconds: int) -> None:
        """Keep the message being handled invisible for ``seconds`` more from
        now (SQS ChangeMessageVisibility), as a long handler must."""
        if self.heartbeat is None:
            raise RuntimeError(f"{self.agent}: no message is in hand to extend the visibility of")
        self.heartbeat(int(seconds))

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Completion:
        """Call the model within this subtask's token budget (recorded; see
        :func:`reference_system.budget.complete_within`). The budget holds
        across redeliveries; an answer cut short fails the subtask."""
        try:
            c = complete_within(
                self._model,
                self.recorder,
                self.ledger,
                key=self.task.subtask_id,
                task_id=self.task.task_id,
                budget=self.budget,
                kind=kind,
                prompt=prompt,
                context=context,
                spent_here=self.tokens_used,
            )
        except BudgetExceeded as e:
            self.tokens_used += e.used
            raise
        self.tokens_used += c.total_tokens
        return c


class MalformedAnswer(ValueError):
    """The model's answer is not what the capability must produce: retried
    like any other failed attempt (a model may answer well next time)."""


def checked(contract: type[Payload], output: dict[str, Any]) -> dict[str, Any]:
    """``output`` if it meets ``contract`` (see :mod:`reference_system.outputs`),
    else :class:`MalformedAnswer`: a worker never passes on a malformed answer."""
    try:
        contract.model_validate(output)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "output"
        raise MalformedAnswer(f"{contract.message_type}: {where}: {first.get('msg', 'invalid')}") from None
    return output


class ResearchWorker:
    capability = "research"

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        out = checked(ResearchOutput, c.output)
        ctx.effects.perform("fetch", task.subtask_id, value={"sources": len(out["facts"])})
        return out


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
        out = checked(DraftOutput, c.output)
        ctx.effects.perform("publish", task.task_id, value={"title": out["title"]})
        return out


class ReviewWorker:
    capability = "review"

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        draft = task.inputs.get("draft", {})
        prompt = f"Review this brief: {draft.get('title', '')} " + " ".join(draft.get("paragraphs", []))
        c = ctx.complete("review", prompt, {"draft": draft})
        return checked(ReviewOutput, {**c.output, "draft": draft})


DEFAULT_WORKERS: dict[str, type] = {
    "research": ResearchWorker,
    "write": WriteWorker,
    "review": ReviewWorker,
}

__all__ = [
    "DEFAULT_WORKERS",
    "ChargedModel",
    "IdempotentEffects",
    "MalformedAnswer",
    "PermanentFailure",
    "Worker",
    "checked",
    "WorkerContext",
    "load_worker",
]
