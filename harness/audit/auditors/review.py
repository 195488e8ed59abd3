"""Reviewers audited like other agents: a review that approves a draft the
verification agents reject, on the same evidence, is a finding.

The draft a review approved is the one its output carries (``draft``), else
the one in its inputs, else the last ``ok`` output of the draft's capability
for the same task. The content auditors (schema, grounding, numeric, leakage,
references) judge it as if the writer had just produced it, against what the
world knows of the task; any error means the reviewer approved a draft it
should have rejected. Those errors are not reported again (they are the
writer's findings): the one finding is the reviewer's, with them as details.

Outputs that are not reviews (another capability, no verdict field, no draft
to find) are skipped without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.audit.auditors.base import Auditor, OutputAuditor
from harness.audit.auditors.grounding import GroundingAuditor
from harness.audit.auditors.leakage import LeakageAuditor
from harness.audit.auditors.numeric import NumericAuditor
from harness.audit.auditors.references import ReferenceAuditor
from harness.audit.auditors.schema import SchemaAuditor
from harness.audit.findings import ERROR, Finding
from harness.audit.world import AgentOutput, World

#: Findings about who produced an output rather than what it says: they do
#: not apply to a draft re-audited on the reviewer's behalf.
NOT_ABOUT_THE_DRAFT = frozenset({"unknown_capability"})


def draft_auditors() -> list[Auditor]:
    """Fresh instances of the deterministic auditors that judge a draft's content."""
    return [SchemaAuditor(), GroundingAuditor(), NumericAuditor(), LeakageAuditor(), ReferenceAuditor()]


class ReviewAuditor(OutputAuditor):
    """Flags a review whose ``approval_field`` approves (is one of
    ``approved_values``; None: is truthy) while the ``judges`` (default:
    :func:`draft_auditors`) find an error in the draft it approved.

    The defaults fit the reference system: reviews are outputs of capability
    ``review`` whose ``approved`` is truthy (as its supervisor reads it), with
    the draft under ``draft``; drafts are outputs of capability ``write``.
    """

    name = "review"

    def __init__(
        self,
        capability: str = "review",
        *,
        draft_field: str = "draft",
        approval_field: str = "approved",
        approved_values: Sequence[Any] | None = None,
        draft_capability: str = "write",
        judges: Sequence[Auditor] | None = None,
    ) -> None:
        self.capability = capability
        self.draft_field = draft_field
        self.approval_field = approval_field
        self.approved_values = None if approved_values is None else tuple(approved_values)
        self.draft_capability = draft_capability
        self.judges = list(draft_auditors() if judges is None else judges)
        #: the last ok output of the draft's capability, per task
        self._drafts: dict[Any, AgentOutput] = {}

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.status != "ok" or not isinstance(out.output, dict):
            return []
        if out.capability == self.draft_capability and _hashable(out.task_id):
            self._drafts[out.task_id] = out
        if out.capability != self.capability or self.approval_field not in out.output:
            return []
        verdict = out.output[self.approval_field]
        if not self._approves(verdict):
            return []
        found = self._draft(out)
        if found is None:
            return []
        draft, where, writer_op = found
        rejected = [
            f
            for judge in self.judges
            for f in judge.audit(draft, world)
            if f.severity == ERROR and f.kind not in NOT_ABOUT_THE_DRAFT
        ]
        if not rejected:
            return []
        kinds = sorted({f"{f.auditor}/{f.kind}" for f in rejected})
        return [
            Finding(
                auditor=self.name,
                kind="approved_rejected_draft",
                message=(
                    f"{self.approval_field}={verdict!r} for a draft the verification agents reject: "
                    + ", ".join(kinds)
                ),
                subject=out.subtask_id,
                task_id=out.task_id,
                witnesses=out.witnesses + ((writer_op,) if writer_op is not None else ()),
                details={
                    "verdict": verdict,
                    "draft_from": where,
                    "draft_op": writer_op,
                    "draft_findings": [
                        {"auditor": f.auditor, "kind": f.kind, "message": f.message} for f in rejected
                    ],
                },
            )
        ]

    def _approves(self, verdict: Any) -> bool:
        if self.approved_values is None:
            return bool(verdict)
        # ``1 == True`` in Python: a verdict of another type than the values is no approval.
        return any(type(v) is type(verdict) and v == verdict for v in self.approved_values)

    def _draft(self, review: AgentOutput) -> tuple[AgentOutput, str, int | None] | None:
        """The draft ``review`` approved, as an output of the draft's capability
        (its content only: no token counts); where it was found; and the op of
        the writer's output if the draft is that output."""
        writer = self._drafts.get(review.task_id) if _hashable(review.task_id) else None
        draft, where = None, "writer output"
        for place, holder in (("review output", review.output), ("review inputs", review.inputs)):
            candidate = holder.get(self.draft_field) if isinstance(holder, dict) else None
            if isinstance(candidate, dict) and candidate:
                draft, where = candidate, place
                break
        if draft is None:
            if writer is None:
                return None
            draft = writer.output
        writer_op = writer.op if writer is not None and writer.output == draft else None
        as_output = AgentOutput(
            subtask_id=writer.subtask_id if writer is not None else review.subtask_id,
            task_id=review.task_id,
            capability=self.draft_capability,
            output=draft,
            inputs=writer.inputs if writer is not None else {},
            op=writer_op if writer_op is not None else review.op,
        )
        return as_output, where, writer_op


def _hashable(task_id: Any) -> bool:
    """A task id the auditor can key drafts by (a malformed history may hold anything)."""
    if task_id is None:
        return False
    try:
        hash(task_id)
    except TypeError:
        return False
    return True


__all__ = ["NOT_ABOUT_THE_DRAFT", "ReviewAuditor", "draft_auditors"]
