"""Workers written by someone else, with the bugs the suite and the swap gate
once missed: each plugs in through the reference system's ``impls`` option
(``--harness-worker``) and is judged by ``harness contracts check`` too.
The last two are correct and must pass both."""

from __future__ import annotations

import time
from typing import Any

from reference_system.llm import ScriptedModel
from reference_system.messages import SubtaskMessage
from reference_system.workers import PermanentFailure, ResearchWorker, WorkerContext, WriteWorker
from tests.mutants.review_mutants import EXAMPLE_KEY


def _prompt(task: SubtaskMessage) -> tuple[str, list[dict[str, Any]]]:
    facts = task.inputs.get("facts", [])
    if not facts:
        raise PermanentFailure("nothing to write about: no research facts")
    return f"Write a brief on {task.topic} from {len(facts)} facts: " + " ".join(
        f["text"] for f in facts
    ), facts


class ClockKeyResearch(ResearchWorker):
    """Its idempotency key carries the time of the attempt ("to make it
    unique"): a redelivered subtask fetches again under a new key."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        key = f"{task.subtask_id}@{time.time_ns()}"
        ctx.effects.perform("fetch", key, value={"sources": len(c.output["facts"])})
        return dict(c.output)


class OwnModelWriter(WriteWorker):
    """Calls a model client of its own rather than the context's, with the
    task's whole budget as its limit: the call is neither recorded nor
    charged. It reports what it used, honestly."""

    def __init__(self) -> None:
        self.llm = ScriptedModel(seed=0)

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        prompt, facts = _prompt(task)
        c = self.llm.complete("write", prompt, {"topic": task.topic, "facts": facts, "max_tokens": 4000})
        ctx.tokens_used += c.total_tokens
        ctx.effects.perform("publish", task.task_id, value={"title": c.output["title"]})
        return dict(c.output)


class TitlelessWriter(WriteWorker):
    """Drops a field its output contract requires ("the title is in the first paragraph")."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        out = dict(super().handle(task, ctx))
        out.pop("title", None)
        return out


class DirectModelWriter(WriteWorker):
    """Correct: calls ``ctx.model.complete`` rather than ``ctx.complete``,
    which the context records and charges the same way."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        prompt, facts = _prompt(task)
        c = ctx.model.complete("write", prompt, {"topic": task.topic, "facts": facts})
        ctx.effects.perform("publish", task.task_id, value={"title": c.output["title"]})
        return dict(c.output)


class OwnKeyResearch(ResearchWorker):
    """Correct: a stable idempotency key of its own spelling."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.effects.perform("fetch", f"fetch-of-{task.subtask_id}", value={"sources": len(c.output["facts"])})
        return dict(c.output)


__all__ = [
    "EXAMPLE_KEY",
    "ClockKeyResearch",
    "DirectModelWriter",
    "HeartbeatWriter",
    "OwnKeyResearch",
    "OwnModelWriter",
    "TitlelessWriter",
]


class HeartbeatWriter(WriteWorker):
    """Correct for slow work: before it starts, it extends the visibility of
    the message it handles, so no other replica is handed the same subtask
    while it works."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        ctx.extend_visibility(60)
        return dict(super().handle(task, ctx))
