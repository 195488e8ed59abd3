"""Verification agents: auditors that read other agents' outputs, live (from
the audit queue) or after the fact (from a history), and emit findings.

Findings are operations in the history (``f = "audit.finding"``);
:func:`check_findings` fails a run on any finding of severity ``error``.

Importing this package does not import boto3: :class:`LiveAudit` (which reads
the task store) and :mod:`harness.audit.bedrock` load on first use.
"""

from typing import Any

from harness.audit.auditors import (
    Auditor,
    BudgetAuditor,
    GroundingAuditor,
    LeakageAuditor,
    NumericAuditor,
    OutputAuditor,
    ReferenceAuditor,
    RepeatedEffectsAuditor,
    ReviewAuditor,
    SchemaAuditor,
    default_auditors,
)
from harness.audit.checker import FindingsChecker, check_findings
from harness.audit.findings import (
    ERROR,
    FINDING,
    INFO,
    SEVERITIES,
    WARNING,
    Finding,
    findings_in,
    record_finding,
)
from harness.audit.judge import (
    Judge,
    JudgeAuditor,
    JudgeError,
    Judgement,
    JudgeRequest,
    ScriptedJudge,
)
from harness.audit.run import audit_file, audit_history, finding_ops
from harness.audit.world import AgentOutput, Source, World

__all__ = [
    "ERROR",
    "FINDING",
    "INFO",
    "SEVERITIES",
    "WARNING",
    "AgentOutput",
    "Auditor",
    "BudgetAuditor",
    "Finding",
    "FindingsChecker",
    "GroundingAuditor",
    "Judge",
    "JudgeAuditor",
    "JudgeError",
    "JudgeRequest",
    "Judgement",
    "LeakageAuditor",
    "LiveAudit",
    "NumericAuditor",
    "OutputAuditor",
    "ReferenceAuditor",
    "RepeatedEffectsAuditor",
    "ReviewAuditor",
    "SchemaAuditor",
    "ScriptedJudge",
    "Source",
    "World",
    "audit_file",
    "audit_history",
    "check_findings",
    "default_auditors",
    "finding_ops",
    "findings_in",
    "record_finding",
]


def __getattr__(name: str) -> Any:
    if name == "LiveAudit":
        from harness.audit.live import LiveAudit

        return LiveAudit
    raise AttributeError(f"module 'harness.audit' has no attribute {name!r}")
