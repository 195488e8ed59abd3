"""One LocalStack backend per test process, shared by every test directory
that needs it (``tests/localstack``, ``tests/staging``), started on first use
and stopped when the session ends. Under pytest-xdist each worker is its own
process, so each gets its own LocalStack and DynamoDB Local on its own ports.

Each directory's session fixture stops it in its teardown, while the worker
still runs (an xdist controller may end a worker before pytest's own cleanups
have finished); a config cleanup and an exit handler are the fallbacks."""

from __future__ import annotations

import atexit
import contextlib
from typing import Any

import pytest

from harness.backends import Endpoints

MARKER = "localstack: runs against LocalStack and DynamoDB Local (deselect with -m 'not localstack')"

_stack: contextlib.ExitStack | None = None
_endpoints: Endpoints | None = None


def register_marker(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def endpoints(config: pytest.Config) -> Endpoints:
    """The process's LocalStack backend, started now if it is not yet running."""
    global _stack, _endpoints
    if _endpoints is None:
        from harness.backends import localstack

        stack = contextlib.ExitStack()
        _endpoints = stack.enter_context(localstack())
        _stack = stack
        config.add_cleanup(close)
        atexit.register(close)
    return _endpoints


def close(*_: Any) -> None:
    global _stack, _endpoints
    if _stack is not None:
        stack, _stack, _endpoints = _stack, None, None
        stack.close()
