"""Budget adherence: outputs stay within the token budget their subtask was given."""

from __future__ import annotations

from harness.audit.auditors.base import OutputAuditor
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World


class BudgetAuditor(OutputAuditor):
    """``tokens_used`` over the budget is an error in an ``ok`` output and a
    warning in a ``failed`` one (the overspend was caught, but the tokens were
    spent); over ``warn_fraction`` of it a warning; and retries that together
    spent more than the budget (each attempt within it) a warning too."""

    name = "budget"

    def __init__(self, warn_fraction: float = 0.9) -> None:
        self.warn_fraction = warn_fraction

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.budget is None or out.tokens_used is None:
            return []
        used, budget = out.tokens_used, out.budget
        if used > budget:
            caught = out.status == "failed"
            return [
                self.finding(
                    out,
                    "overspent_then_failed" if caught else "over_budget",
                    f"used {used} tokens of a {budget}-token budget" + (" before failing" if caught else ""),
                    "warning" if caught else "error",
                    used=used,
                    budget=budget,
                )
            ]
        found: list[Finding] = []
        if out.status == "ok" and budget > 0 and used > self.warn_fraction * budget:
            found.append(
                self.finding(
                    out,
                    "near_budget",
                    f"used {used} tokens, over {self.warn_fraction:.0%} of its {budget}-token budget",
                    "warning",
                    used=used,
                    budget=budget,
                )
            )
        total = world.model_tokens.get(out.subtask_id, 0)
        if total > budget:
            found.append(
                self.finding(
                    out,
                    "retries_over_budget",
                    f"all attempts together spent {total} tokens of a {budget}-token budget",
                    "warning",
                    spent=total,
                    budget=budget,
                )
            )
        return found
