"""Make moto redeliver a FIFO message group in order after a visibility timeout.

Measured here: send A then B to one FIFO message group, receive both in one
call, delete neither, and let the visibility timeout pass. SQS delivers A
again first (a group is served in order). moto 5.2 delivers B and holds A
back until the next receive. It walks the queue in order and releases each
expired message from its in-flight set only on reaching it, so at A the
group still looks in flight because of B.

While an embedded backend is open, every receive first releases all of the
queue's in-flight messages whose visibility timeout has run out. That is
what "in flight" means in SQS, and with it moto serves the group in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.backends._patch import patched


def release_expired(queue: Any) -> int:
    """Forget in-flight messages of ``queue`` that are visible again; returns how many."""
    expired = [m for m in list(queue.pending_messages) if m.visible]
    for m in expired:
        queue.pending_messages.discard(m)
    return len(expired)


@contextmanager
def fifo_in_order() -> Iterator[None]:
    from moto.sqs.models import SQSBackend

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            if queue.fifo_queue:
                release_expired(queue)
            return original(self, queue_name, *args, **kwargs)

        return receive_message

    with patched(SQSBackend, "receive_message", wrap):
        yield
