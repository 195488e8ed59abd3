from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.audit import AgentOutput, World

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"


def load_cases() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "outputs.json").read_text())["cases"]


def make_output(d: dict[str, Any], op: int | None = 7) -> AgentOutput:
    return AgentOutput(
        subtask_id=d["subtask_id"],
        task_id=d.get("task_id"),
        capability=d.get("capability"),
        output=d.get("output"),
        status=d.get("status", "ok"),
        agent=d.get("agent"),
        reason=d.get("reason"),
        tokens_used=d.get("tokens_used"),
        budget=d.get("budget"),
        inputs=d.get("inputs", {}),
        op=op,
    )


def make_world(sources: list[dict[str, Any]] | None = None, task_id: str = "t1", **kw: Any) -> World:
    world = World(**kw)
    if sources:
        world.learn_output(
            AgentOutput(f"{task_id}/research/0", task_id, "research", {"facts": sources}, op=3)
        )
    return world


@pytest.fixture
def world() -> World:
    return World()
