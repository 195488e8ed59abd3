"""Make moto's DynamoDB apply each request atomically.

Measured here: moto evaluates a ConditionExpression and applies the write as
two separate steps with no lock, so two concurrent conditional writes to one
item can both succeed (8 threads x 10 optimistic increments ended at 78, not
80). DynamoDB itself applies a conditional write atomically. While an embedded
backend is open, one lock serialises moto's DynamoDB request handling (in
process and in the threaded server alike). SQS is left alone: its long polls
block inside the handler.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.RLock()
_state_lock = threading.Lock()
_users = 0
_original: Any = None


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    global _users, _original
    from moto.dynamodb.responses import DynamoHandler

    with _state_lock:
        if _users == 0:
            _original = DynamoHandler.call_action
            original = _original

            def call_action(self: Any) -> Any:
                with _lock:
                    return original(self)

            DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        _users += 1
    try:
        yield
    finally:
        with _state_lock:
            _users -= 1
            if _users == 0:
                DynamoHandler.call_action = _original  # type: ignore[method-assign]
