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
