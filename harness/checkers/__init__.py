"""Checkers: pure functions from a history to a Verdict with witnesses."""

from harness.checkers.linearizability import check_linearizability
from harness.checkers.models import KV, MODELS, REGISTER, Model
from harness.checkers.models import UNKNOWN as UNKNOWN_OUTPUT
from harness.checkers.verdict import UNKNOWN, VIOLATION, WARNING, Anomaly, Verdict, combine

__all__ = [
    "KV",
    "MODELS",
    "REGISTER",
    "UNKNOWN",
    "UNKNOWN_OUTPUT",
    "VIOLATION",
    "WARNING",
    "Anomaly",
    "Model",
    "Verdict",
    "check_linearizability",
    "combine",
]
