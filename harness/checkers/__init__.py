"""Checkers: pure functions from a history to a Verdict with witnesses.

Each ``check_<name>(history, **spec)`` returns a :class:`Verdict`; the
streaming ones also exist as classes that :func:`run_checkers` feeds in a
single pass, and :func:`check` runs several by name.
"""

from harness.checkers.base import StreamingChecker, run_checker, run_checkers
from harness.checkers.budget import BudgetChecker, check_budget
from harness.checkers.delivery import DeliveryChecker, check_delivery
from harness.checkers.idempotency import IdempotencyChecker, check_idempotency
from harness.checkers.linearizability import check_linearizability
from harness.checkers.liveness import LivenessChecker, check_liveness
from harness.checkers.lost_update import LostUpdateChecker, check_lost_update
from harness.checkers.models import KV, MODELS, REGISTER, Model, unpartitioned
from harness.checkers.models import UNKNOWN as UNKNOWN_OUTPUT
from harness.checkers.ordering import OrderingChecker, check_ordering
from harness.checkers.registry import CHECKERS, STREAMING, check, resolve_specs
from harness.checkers.session import SessionChecker, check_session
from harness.checkers.verdict import UNKNOWN, VIOLATION, WARNING, Anomaly, Verdict, combine

__all__ = [
    "CHECKERS",
    "KV",
    "MODELS",
    "REGISTER",
    "STREAMING",
    "UNKNOWN",
    "UNKNOWN_OUTPUT",
    "VIOLATION",
    "WARNING",
    "Anomaly",
    "BudgetChecker",
    "DeliveryChecker",
    "IdempotencyChecker",
    "LivenessChecker",
    "LostUpdateChecker",
    "Model",
    "OrderingChecker",
    "SessionChecker",
    "StreamingChecker",
    "Verdict",
    "check",
    "check_budget",
    "check_delivery",
    "check_idempotency",
    "check_linearizability",
    "check_liveness",
    "check_lost_update",
    "check_ordering",
    "check_session",
    "combine",
    "resolve_specs",
    "run_checker",
    "run_checkers",
    "unpartitioned",
]
