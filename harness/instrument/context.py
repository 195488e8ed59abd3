"""The correlation id of the work in progress, carried implicitly through calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Message attribute names the harness reads and writes.
CORRELATION_ATTR = "correlation_id"
MESSAGE_ID_ATTR = "message_id"
MESSAGE_TYPE_ATTR = "message_type"
MESSAGE_VERSION_ATTR = "message_version"

_correlation: ContextVar[str | None] = ContextVar("harness_correlation_id", default=None)

#: The meta keys of an effect's logical operation and of the attempt (delivery) that performed it.
OPERATION_META = "operation"
ATTEMPT_META = "attempt"

_operation: ContextVar[tuple[str, str | None] | None] = ContextVar("harness_operation", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    return _correlation.get()


@contextmanager
def correlation(cid: str | None) -> Iterator[str | None]:
    """Make ``cid`` the current correlation id inside the block."""
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)


def current_operation() -> tuple[str, str | None] | None:
    """``(logical operation, attempt)`` of the work in progress, or None."""
    return _operation.get()


@contextmanager
def operation(op_id: str | None, attempt: str | None = None) -> Iterator[str | None]:
    """Inside the block, effects belong to the logical operation ``op_id``
    (the task or subtask a delivery is about) and to ``attempt`` (this
    delivery of it, e.g. ``agent#receive-count``). Effects recorded inside
    carry both in their meta, so the idempotency checker can tell one
    operation done twice under two keys from two operations."""
    token = _operation.set((str(op_id), attempt) if op_id is not None else None)
    try:
        yield op_id
    finally:
        _operation.reset(token)
