"""The checkers by name, and one call that runs several over a history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from harness.checkers.base import StreamingChecker, run_checkers
from harness.checkers.budget import BudgetChecker
from harness.checkers.delivery import DeliveryChecker
from harness.checkers.idempotency import IdempotencyChecker
from harness.checkers.linearizability import check_linearizability
from harness.checkers.liveness import LivenessChecker
from harness.checkers.lost_update import LostUpdateChecker
from harness.checkers.ordering import OrderingChecker
from harness.checkers.session import SessionChecker
from harness.checkers.verdict import Verdict
from harness.history.model import Op


def _findings(**kw: Any) -> StreamingChecker:
    """The verification agents' findings (:mod:`harness.audit`), loaded on first use."""
    from harness.audit.checker import FindingsChecker

    return FindingsChecker(**kw)


STREAMING: dict[str, Callable[..., StreamingChecker]] = {
    "delivery": DeliveryChecker,
    "idempotency": IdempotencyChecker,
    "ordering": OrderingChecker,
    "lost-update": LostUpdateChecker,
    "session": SessionChecker,
    "budget": BudgetChecker,
    "liveness": LivenessChecker,
    "findings": _findings,
}
"""Checkers that read a history in one streaming pass."""

CHECKERS: tuple[str, ...] = (*STREAMING, "linearizability")

#: The top-level spec key whose state machine applies to every checker that
#: reads one (a checker's own settings win).
STATE_MACHINE_KEY = "state_machine"
STATE_MACHINE_CHECKERS: tuple[str, ...] = ("ordering", "liveness")


def resolve_specs(specs: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-checker keyword arguments from ``specs``: a top-level
    ``state_machine`` (a :class:`harness.system.StateMachine` or its JSON
    form) is given to ordering and liveness unless their own settings already
    name their transitions or terminal states. A malformed entry is a
    ValueError with one line."""
    out: dict[str, dict[str, Any]] = {}
    sm = None
    for name, kw in (specs or {}).items():
        if name == STATE_MACHINE_KEY:
            sm = kw
            continue
        if not isinstance(kw, Mapping):
            raise ValueError(f"the settings of checker {name!r} must be a table of keyword arguments")
        out[str(name)] = dict(kw)
    repeatable = out.get("idempotency", {}).get("repeatable")
    if repeatable is not None and "repeatable" not in out.get("findings", {}):
        # What the system declares repeatable is no repeat for the auditors either.
        out.setdefault("findings", {})["repeatable"] = repeatable
    if sm is not None:
        from harness.checkers.ordering import as_state_machine

        as_state_machine(sm)  # malformed: fail here, with one line
        own = {"ordering": ("allowed", "state_machine"), "liveness": ("terminal", "state_machine")}
        for name in STATE_MACHINE_CHECKERS:
            kw = out.setdefault(name, {})
            if not any(k in kw for k in own[name]):
                kw[STATE_MACHINE_KEY] = sm
    return out


def _make(name: str, kw: Mapping[str, Any]) -> StreamingChecker:
    try:
        return STREAMING[name](**kw)
    except TypeError as e:  # an unknown or mistyped setting
        raise ValueError(f"checker {name!r}: bad settings: {e}") from None


def check(
    history: Iterable[Op],
    checkers: Sequence[str] = tuple(STREAMING),
    *,
    specs: Mapping[str, Any] | None = None,
    model: Any = "register",
    timeout: float | None = None,
) -> list[Verdict]:
    """Run the named checkers over ``history``: the streaming ones in one pass,
    linearizability (if named) on the operations kept for it. ``specs`` gives
    keyword arguments per checker name (see :func:`resolve_specs`). Verdicts come back in ``checkers`` order."""
    unknown = [n for n in checkers if n not in CHECKERS]
    if unknown:
        raise ValueError(f"unknown checker(s) {', '.join(unknown)}; choose from {', '.join(CHECKERS)}")
    specs = resolve_specs(specs)
    streaming = [n for n in checkers if n in STREAMING]
    instances = [_make(n, specs.get(n, {})) for n in streaming]
    ops: list[Op] | None = None
    if "linearizability" in checkers:
        ops = history if isinstance(history, list) else list(history)
        history = ops
    results = dict(zip(streaming, run_checkers(history, instances), strict=True)) if instances else {}
    if ops is not None:
        lin = specs.get("linearizability", {})
        bad = sorted(set(lin) - {"partitioned"})
        if bad:
            raise ValueError(f"checker 'linearizability': unknown setting(s) {', '.join(bad)}")
        results["linearizability"] = check_linearizability(ops, model, timeout=timeout, **lin)
    return [results[n] for n in checkers]
