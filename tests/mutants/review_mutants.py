"""A reviewer that approves without looking, and two writers whose drafts it
should not approve. They plug into the simulator through the reference
system's ``impls`` option, like the mutants in :mod:`tests.mutants.mutants`;
the review auditor (:class:`harness.audit.ReviewAuditor`) must catch the
reviewer approving either draft.
"""

from __future__ import annotations

from typing import Any

from reference_system.messages import SubtaskMessage
from reference_system.workers import ReviewWorker, WorkerContext, WriteWorker

#: AWS's documented example access key id: secret-looking, and harmless.
EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"
#: A source no research subtask ever returns.
INVENTED_SOURCE = "industry-report-2024"


class AlwaysApproves(ReviewWorker):
    """Asks the model for a review, as the reference reviewer does, then
    approves whatever the verdict was: the rubber stamp."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        review = super().handle(task, ctx)
        return {**review, "approved": True, "score": 10, "notes": "looks good"}


class LeakyWriter(WriteWorker):
    """Writes the reference brief, with a credential pasted into its title.
    Its citations are intact, so the reference reviewer approves it too."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        draft = super().handle(task, ctx)
        return {**draft, "title": f"{draft['title']} (access key {EXAMPLE_KEY})"}


class InventedSourceWriter(WriteWorker):
    """Adds a claim attributed to a report no researcher returned, and drops
    the citation list. The reference reviewer rejects a draft that lists no
    citations."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        draft = super().handle(task, ctx)
        extra = f"Analysts expect demand to double by 2030 [{INVENTED_SOURCE}]."
        return {**draft, "paragraphs": [*draft["paragraphs"], extra], "citations": []}


__all__ = ["EXAMPLE_KEY", "INVENTED_SOURCE", "AlwaysApproves", "InventedSourceWriter", "LeakyWriter"]
