"""Model calls within a token budget: recorded, and charged across attempts.

Every model call of the reference system goes through :func:`complete_within`:
the workers' (one budget per subtask) and the supervisor's planning call (paid
from the research share of the task's budget). With a :class:`Ledger` the
budget holds across redeliveries and restarts: what earlier attempts spent is
in it, and a call first holds the tokens it may use, so two attempts in flight
cannot both spend the same share.
"""

from __future__ import annotations

from typing import Any

from harness.instrument.effects import Effects
from reference_system.ledger import BudgetBusy, Ledger
from reference_system.llm import Completion, Model, count_tokens


class BudgetExceeded(Exception):
    """The call would spend more tokens than its share of the budget.
    ``used``: what the call that found out spent (0 if none was made)."""

    def __init__(self, message: str, used: int = 0) -> None:
        super().__init__(message)
        self.used = used


def complete_within(
    model: Model,
    recorder: Effects,
    ledger: Ledger | None,
    *,
    key: str,
    task_id: str,
    budget: int,
    kind: str,
    prompt: str,
    context: dict[str, Any],
    spent_here: int = 0,
    max_tokens: int | None = None,
) -> Completion:
    """Call the model for ``key`` within ``budget`` tokens, recorded as
    ``model.complete``. The model may generate what is left (at most
    ``max_tokens``); an answer cut short raises :class:`BudgetExceeded`.
    ``spent_here``: what this attempt spent already, when there is no ledger
    (with one, it is in the ledger)."""
    spent, held = ledger.spent(key) if ledger else (spent_here, 0)
    remaining = budget - spent - held
    need = count_tokens(prompt)
    if need >= remaining:
        if held:
            raise BudgetBusy(f"{key}: another attempt holds {held} tokens of the budget")
        raise BudgetExceeded(
            f"token budget exceeded: prompt needs {need} tokens, {max(remaining, 0)} of {budget} left"
        )
    limit = remaining - need if max_tokens is None else min(max_tokens, remaining - need)
    hold = ledger.hold(key, need + limit, budget) if ledger else None
    if ledger and hold is None:
        raise BudgetBusy(f"{key}: the budget changed under this attempt")
    used = 0
    try:
        c = recorder.run(
            "model.complete",
            key,
            lambda: model.complete(kind, prompt, {**context, "max_tokens": limit}),
            value={
                "task_id": task_id,
                "budget": budget,
                "max_tokens": limit,
                "kind": kind,
                "model": model.name,
            },
            result=lambda c: {"input_tokens": c.input_tokens, "output_tokens": c.output_tokens},
        )
        used = c.total_tokens
    finally:
        if ledger and hold is not None:
            # A call that failed is charged its prompt: what it generated is
            # unknown. A settle that fails is owed and paid later: the answer
            # (or the call's own error) stands.
            ledger.settle(key, hold, used if used else need)
    if used > need + limit:  # a model that ignored its limit
        raise BudgetExceeded(f"token budget exceeded: used {spent + used} of {budget} tokens", used)
    if getattr(c, "truncated", False):
        raise BudgetExceeded(
            f"token budget exceeded: the answer was cut at {c.output_tokens} tokens "
            f"({spent + used} of {budget} used)",
            used,
        )
    return c
