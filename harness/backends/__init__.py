"""Backends: named constructors, each a context manager yielding Endpoints."""

from harness.backends.embedded import BackendError, embedded
from harness.backends.endpoints import SERVICES, Endpoints

__all__ = ["SERVICES", "BackendError", "Endpoints", "embedded"]
