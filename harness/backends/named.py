"""Backends by name, for command lines: ``embedded``, ``localstack``, ``aws``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from harness.backends.embedded import BackendError
from harness.backends.endpoints import Endpoints

#: The names a command line accepts, each with what it starts.
BACKENDS: dict[str, str] = {
    "embedded": "moto as an HTTP server on 127.0.0.1 (agents in other processes can reach it)",
    "localstack": "LocalStack in host mode plus DynamoDB Local, installed into the project cache on first use",
    "aws": "real AWS, for the account behind --profile, refused unless it is on the allow-list",
}


@contextmanager
def open_backend(
    name: str,
    *,
    profile: str | None = None,
    allowed_accounts: Iterable[str] = (),
    seed: int | None = None,
) -> Iterator[Endpoints]:
    """Open the backend called ``name``; a context manager yielding its endpoints."""
    cm: AbstractContextManager[Endpoints]
    if name == "embedded":
        from harness.backends.embedded import embedded

        cm = embedded("server", seed=seed)
    elif name == "localstack":
        from harness.backends.localstack import localstack

        cm = localstack()
    elif name == "aws":
        from harness.backends.aws import aws

        cm = aws(profile, allowed_accounts)
    else:
        raise BackendError(f"unknown backend {name!r}: choose from {', '.join(BACKENDS)}")
    with cm as ep:
        yield ep
