"""The auditors. Each reads outputs (and the run's :class:`~harness.audit.world.World`)
and returns findings; :func:`default_auditors` is the set a run uses."""

from harness.audit.auditors.base import Auditor, OutputAuditor
from harness.audit.auditors.budget import BudgetAuditor
from harness.audit.auditors.effects import RepeatedEffectsAuditor
from harness.audit.auditors.grounding import GroundingAuditor, split_claim
from harness.audit.auditors.leakage import PATTERNS, LeakageAuditor, Pattern, mask
from harness.audit.auditors.numeric import NumericAuditor
from harness.audit.auditors.references import ReferenceAuditor, references
from harness.audit.auditors.review import ReviewAuditor, draft_auditors
from harness.audit.auditors.schema import SchemaAuditor


def default_auditors() -> list[Auditor]:
    """Fresh instances of every deterministic auditor."""
    return [
        SchemaAuditor(),
        GroundingAuditor(),
        NumericAuditor(),
        BudgetAuditor(),
        LeakageAuditor(),
        ReferenceAuditor(),
        RepeatedEffectsAuditor(),
        ReviewAuditor(),
    ]


__all__ = [
    "PATTERNS",
    "Auditor",
    "BudgetAuditor",
    "GroundingAuditor",
    "LeakageAuditor",
    "NumericAuditor",
    "OutputAuditor",
    "Pattern",
    "ReferenceAuditor",
    "RepeatedEffectsAuditor",
    "ReviewAuditor",
    "SchemaAuditor",
    "default_auditors",
    "draft_auditors",
    "mask",
    "references",
    "split_claim",
]
