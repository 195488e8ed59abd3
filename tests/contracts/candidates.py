"""Candidate workers for the swap gate's tests: one safe replacement and
several unsafe ones, each unsafe for a different reason."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reference_system.messages import Fact, SubtaskMessage
from reference_system.outputs import ResearchInput, ResearchOutput
from reference_system.workers import ResearchWorker, ReviewWorker, WriteWorker

# -- safe ----------------------------------------------------------------------------


class RephrasedResearchWorker(ResearchWorker):
    """A new prompt; the same contracts, declared."""

    input_contract = ResearchInput
    output_contract = ResearchOutput

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"Sourced facts on {subtopic}, briefly.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.effects.perform("fetch", task.subtask_id, value={"sources": len(c.output["facts"])})
        return c.output


class ResearchWithSummary(ResearchOutput):
    """The research output plus an optional one-line summary."""

    summary: str | None = None


class ConciseResearchWorker:
    """A new prompt, and a summary line added to the output: a compatible change."""

    capability = "research"
    input_contract = ResearchInput
    output_contract = ResearchWithSummary

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"Sourced facts on {subtopic}, briefly.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.effects.perform("fetch", task.subtask_id, value={"sources": len(c.output["facts"])})
        return {**c.output, "summary": f"{len(c.output['facts'])} facts on {subtopic}"}


# -- unsafe: its declared contract breaks the registry's ----------------------------------


class Body(BaseModel):
    title: str = Field(min_length=1)
    body: list[str] = Field(min_length=1)
    citations: list[str]


class RenamingWriteWorker(WriteWorker):
    """Calls the paragraphs 'body', and says so in its contract."""

    output_contract = Body

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = super().handle(task, ctx)
        return {"title": out["title"], "body": out["paragraphs"], "citations": out["citations"]}


class LocalizedInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subtopic: str = Field(min_length=1)
    language: str


class MonolingualResearchWorker(ResearchWorker):
    """Needs a language the supervisor never sends."""

    input_contract = LocalizedInput


# -- unsafe: outputs break the contract on golden inputs -------------------------------------


class GenerousReviewWorker(ReviewWorker):
    """Scores out of a hundred; declares nothing."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = super().handle(task, ctx)
        return {**out, "score": out["score"] * 10}


# -- unsafe: crashes on an input only generation finds -------------------------------------------


class FragileWriteWorker(WriteWorker):
    """Formats every fact's value, and a fact without a value crashes it.
    Every golden fact has a value."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        figures = ", ".join(f"{Fact(**f).value:.1f}" for f in task.inputs.get("facts", []))  # type: ignore[str-format]
        out = super().handle(task, ctx)
        return {**out, "paragraphs": [*out["paragraphs"], f"Figures: {figures}."]}


# -- unsafe: behaves differently on the same inputs ------------------------------------------------


class OfflineResearchWorker(ResearchWorker):
    """Answers from memory: never performs the fetch side effect."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        return c.output


class EagerResearchWorker(ResearchWorker):
    """Fetches outside the idempotency store: a redelivered subtask fetches again."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.recorder.perform("fetch", task.subtask_id, value={"sources": len(c.output["facts"])})
        return c.output


class ThoroughReviewWorker(ReviewWorker):
    """Reads the draft three times over: the same verdicts at triple the tokens."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        draft = task.inputs.get("draft", {})
        text = f"{draft.get('title', '')} " + " ".join(draft.get("paragraphs", []))
        c = ctx.complete(
            "review", f"Review this brief: {text} Again: {text} Once more: {text}", {"draft": draft}
        )
        return {**c.output, "draft": draft}


class MislabeledWorker(ResearchWorker):
    capability = "write"


class NotAWorker:
    pass
