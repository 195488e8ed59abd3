"""Candidate research workers for the gate's side-effect and AWS tests: the
reference worker with another idempotency-key scheme (stable, or changing
per delivery), one with an extra side effect, and one using DynamoDB itself."""

from __future__ import annotations

import itertools
from typing import Any

from reference_system.messages import SubtaskMessage
from reference_system.workers import ResearchWorker


def _research(task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
    """The reference research worker's model call (same prompt, same output)."""
    subtopic = task.inputs.get("subtopic", task.topic)
    c = ctx.complete(
        "research",
        f"List sourced facts about {subtopic}.",
        {"subtopic": subtopic, "subtask_id": task.subtask_id},
    )
    return c.output  # type: ignore[no-any-return]


class PrefixedKeyResearchWorker(ResearchWorker):
    """Safe: its own stable key per subtask, ``fetch-<subtask id>``."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = _research(task, ctx)
        ctx.effects.perform("fetch", f"fetch-{task.subtask_id}", value={"sources": len(out["facts"])})
        return out


class PerDeliveryKeyResearchWorker(ResearchWorker):
    """Unsafe: the key counts deliveries, so a redelivery fetches again."""

    def __init__(self) -> None:
        self._deliveries = itertools.count()

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = _research(task, ctx)
        key = f"{task.subtask_id}#{next(self._deliveries)}"
        ctx.effects.perform("fetch", key, value={"sources": len(out["facts"])})
        return out


class NotifyingResearchWorker(ResearchWorker):
    """Unsafe: also notifies someone, a side effect the incumbent never has."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = _research(task, ctx)
        ctx.effects.perform("fetch", task.subtask_id, value={"sources": len(out["facts"])})
        ctx.effects.perform("notify", task.subtask_id)
        return out


class DynamoResearchWorker(ResearchWorker):
    """Safe, and uses the deployed system's tables itself: reads its own
    registration and the task, writes a note and reads it back (it raises,
    so the gate reports a crash, if any of that is missing)."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        ddb, res = ctx.client("dynamodb"), ctx.resources
        me = ddb.get_item(TableName=res.registry_table, Key={"agent": {"S": "research-v1"}})
        if "Item" not in me:
            raise RuntimeError(f"research-v1 is not registered in {res.registry_table}")
        ddb.get_item(TableName=res.tasks_table, Key={"pk": {"S": task.task_id}})
        note = {"pk": {"S": f"note/{task.subtask_id}"}, "topic": {"S": task.topic}}
        ddb.put_item(TableName=res.briefs_table, Item=note)
        back = ddb.get_item(TableName=res.briefs_table, Key={"pk": note["pk"]}, ConsistentRead=True)
        if back.get("Item", {}).get("topic") != note["topic"]:
            raise RuntimeError("the note just written is not there")
        return super().handle(task, ctx)
