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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.backends._patch import patched

_lock = threading.RLock()


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    from moto.dynamodb.responses import DynamoHandler

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def call_action(self: Any) -> Any:
            with _lock:
                return original(self)

        return call_action

    with patched(DynamoHandler, "call_action", wrap):
        yield
