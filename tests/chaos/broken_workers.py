"""Two deliberately broken workers, for proving the experiments bite.

Load one into every worker process with ``HARNESS_WORKER`` (or the
``harness_worker`` configuration key), e.g.
``HARNESS_WORKER=research=tests.chaos.broken_workers:NonIdempotentResearch``.
"""

from __future__ import annotations

from typing import Any

from reference_system.messages import SubtaskMessage
from reference_system.worker_loop import WorkerLoop
from reference_system.workers import ResearchWorker, WorkerContext

#: The invariant each one violates, as `invariants_hold` names it.
EARLY_ACK_BREAKS = "every request reached a terminal state"
NON_IDEMPOTENT_BREAKS = "no effect was performed twice"


class _DeleteOnReceive:
    """An SQS client that deletes every message it receives before handing it over."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def receive_message(self, **kw: Any) -> dict[str, Any]:
        got = self._sqs.receive_message(**kw)
        for m in got.get("Messages", []) or []:
            self._sqs.delete_message(QueueUrl=kw["QueueUrl"], ReceiptHandle=m["ReceiptHandle"])
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


class EarlyAckLoop(WorkerLoop):
    """Acknowledges (deletes) each message as soon as it is received, before
    doing the work: a worker that dies mid-task loses the task for good."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sqs = _DeleteOnReceive(self.sqs)


class NonIdempotentResearch(ResearchWorker):
    """Performs its effect every time it handles a message, with no
    idempotency key: a redelivered message fetches twice."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        ctx.recorder.perform("fetch", task.subtask_id, value={"sources": len(c.output["facts"])})
        return c.output
