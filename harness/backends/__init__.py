"""Backends: named constructors, each a context manager yielding Endpoints."""

from harness.backends.aws import AccountNotAllowed, aws, check_account
from harness.backends.embedded import BackendError, embedded
from harness.backends.endpoints import SERVICES, Endpoints
from harness.backends.localstack import localstack
from harness.backends.named import BACKENDS, open_backend

__all__ = ["SERVICES", "BackendError", "Endpoints", "embedded"]
__all__ += ["BACKENDS", "AccountNotAllowed", "aws", "check_account", "localstack", "open_backend"]
