"""Every message the agents exchange, declared once as a pydantic model.

Each model names its message type and version; a message on a queue carries
both in its attributes (``message_type``, ``message_version``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reference_system.states import State


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message_type: ClassVar[str]
    message_version: ClassVar[int] = 1


class BriefRequest(Message):
    """A request entering the system: a brief on ``topic`` within ``token_budget``."""

    message_type: ClassVar[str] = "brief_request"
    request_id: str
    topic: str = Field(min_length=1, max_length=200)
    token_budget: int = Field(gt=0)


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source_id: str
    text: str
    value: float | None = None


class SubtaskMessage(Message):
    """The supervisor's order to a worker of one capability."""

    message_type: ClassVar[str] = "subtask"
    task_id: str
    subtask_id: str
    capability: str
    topic: str
    token_budget: int = Field(ge=0)
    inputs: dict[str, Any] = Field(default_factory=dict)


class ResultMessage(Message):
    """A worker's answer to a subtask."""

    message_type: ClassVar[str] = "result"
    task_id: str
    subtask_id: str
    capability: str
    agent: str
    status: Literal["ok", "failed"]
    output: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    tokens_used: int = Field(ge=0, default=0)


class ProgressEvent(Message):
    """A worker's progress on a subtask; FIFO per task (message group = task id)."""

    message_type: ClassVar[str] = "progress"
    task_id: str
    subtask_id: str
    agent: str
    event: Literal["started", "finished"]
    attempt: int = Field(ge=1)


class StatusEvent(Message):
    """A task or subtask state change, published to the status topic."""

    message_type: ClassVar[str] = "status"
    task_id: str
    item_id: str
    from_state: State | None
    to_state: State
    reason: str | None = None


MESSAGE_TYPES: dict[str, type[Message]] = {
    m.message_type: m for m in (BriefRequest, SubtaskMessage, ResultMessage, ProgressEvent, StatusEvent)
}
