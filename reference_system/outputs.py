"""What each capability consumes and produces: the contracts of the
``inputs`` of a :class:`SubtaskMessage` and of the ``output`` of an ``ok``
:class:`ResultMessage`.

The supervisor builds each stage's input from the previous stage's output
(research facts -> write, the draft -> review), so both are declared here.
Inputs are closed (the supervisor sends exactly these fields); outputs are
open (readers ignore fields they do not know).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.source import Link, Role
from reference_system.messages import Fact


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True)
    message_type: ClassVar[str]
    message_version: ClassVar[int] = 1


class ResearchInput(Payload):
    """What to research."""

    model_config = ConfigDict(extra="forbid")
    message_type: ClassVar[str] = "research_input"
    subtopic: str = Field(min_length=1)


class ResearchOutput(Payload):
    """Sourced facts about the subtopic."""

    message_type: ClassVar[str] = "research_output"
    facts: list[Fact] = Field(min_length=1)


class WriteInput(Payload):
    """The facts gathered by every research subtask of a task."""

    model_config = ConfigDict(extra="forbid")
    message_type: ClassVar[str] = "write_input"
    facts: list[Fact]


class DraftOutput(Payload):
    """A brief: a title, paragraphs, and the source ids it cites."""

    message_type: ClassVar[str] = "write_output"
    title: str = Field(min_length=1)
    paragraphs: list[str] = Field(min_length=1)
    citations: list[str]


class ReviewInput(Payload):
    """The draft to review."""

    model_config = ConfigDict(extra="forbid")
    message_type: ClassVar[str] = "review_input"
    draft: DraftOutput


class ReviewOutput(Payload):
    """A verdict on the draft, with the draft itself (stored as the brief)."""

    message_type: ClassVar[str] = "review_output"
    approved: bool
    score: int = Field(ge=0, le=10)
    notes: str
    draft: DraftOutput


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    m.message_type: m
    for m in (ResearchInput, ResearchOutput, WriteInput, DraftOutput, ReviewInput, ReviewOutput)
}

#: Where payload contracts apply inside the messages.
LINKS: dict[str, dict[str, Link]] = {
    "subtask": {"inputs": Link("{capability}_input")},
    "result": {"output": Link("{capability}_output", when={"status": "ok"})},
}

#: Each role, and where its inputs come from (write's facts are research's; review's draft is write's output).
ROLES: dict[str, Role] = {
    cap: Role(cap, f"{cap}_input", f"{cap}_output", f"reference_system.workers:{cls}", upstream)
    for cap, cls, upstream in (
        ("research", "ResearchWorker", {}),
        ("write", "WriteWorker", {"facts": ("research", "facts")}),
        ("review", "ReviewWorker", {"draft": ("write", None)}),
    )
}
