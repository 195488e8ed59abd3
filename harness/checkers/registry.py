"""The checkers by name, and one call that runs several over a history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.checkers.base import StreamingChecker, run_checkers
from harness.checkers.budget import BudgetChecker
from harness.checkers.delivery import DeliveryChecker
from harness.checkers.idempotency import IdempotencyChecker
from harness.checkers.linearizability import check_linearizability
from harness.checkers.lost_update import LostUpdateChecker
from harness.checkers.ordering import OrderingChecker
from harness.checkers.session import SessionChecker
from harness.checkers.verdict import Verdict
from harness.history.model import Op

STREAMING: dict[str, Callable[..., StreamingChecker]] = {
    "delivery": DeliveryChecker,
    "idempotency": IdempotencyChecker,
    "ordering": OrderingChecker,
    "lost-update": LostUpdateChecker,
    "session": SessionChecker,
    "budget": BudgetChecker,
}
"""Checkers that read a history in one streaming pass."""

CHECKERS: tuple[str, ...] = (*STREAMING, "linearizability")


def check(
    history: Iterable[Op],
    checkers: Sequence[str] = tuple(STREAMING),
    *,
    specs: dict[str, dict[str, Any]] | None = None,
    model: Any = "register",
    timeout: float | None = None,
) -> list[Verdict]:
    """Run the named checkers over ``history``: the streaming ones in one pass,
    linearizability (if named) on the operations kept for it. ``specs`` gives
    keyword arguments per checker name. Verdicts come back in ``checkers`` order."""
    unknown = [n for n in checkers if n not in CHECKERS]
    if unknown:
        raise ValueError(f"unknown checker(s) {', '.join(unknown)}; choose from {', '.join(CHECKERS)}")
    specs = specs or {}
    streaming = [n for n in checkers if n in STREAMING]
    instances = [STREAMING[n](**specs.get(n, {})) for n in streaming]
    ops: list[Op] | None = None
    if "linearizability" in checkers:
        ops = history if isinstance(history, list) else list(history)
        history = ops
    results = dict(zip(streaming, run_checkers(history, instances), strict=True)) if instances else {}
    if ops is not None:
        results["linearizability"] = check_linearizability(
            ops, model, timeout=timeout, **specs.get("linearizability", {})
        )
    return [results[n] for n in checkers]
