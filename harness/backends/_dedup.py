"""Make moto deduplicate FIFO sends for five minutes, deleted or not.

Measured here (moto 5.2): a FIFO message is deduplicated against the
messages still in the queue only. Once the first copy is deleted, a resend
with the same ``MessageDeduplicationId`` (or the same body, with
content-based deduplication) is delivered again; while the first copy is
still there, the resend is dropped but answered with a new MessageId. moto
also deduplicates across message groups when the queue's
``DeduplicationScope`` is ``messageGroup``.

SQS: "If a message with a particular MessageDeduplicationId is sent
successfully, any messages sent with the same MessageDeduplicationId are
accepted successfully but aren't delivered during the 5-minute deduplication
interval" (SendMessage, API Reference), and "Amazon SQS continues tracking
the deduplication ID even after the message has been received and deleted"
(FIFO queue key terms, Developer Guide). The answer to a deduplicated send
names the first copy's MessageId (as LocalStack, checked against AWS, does).

While an embedded backend is open, every send to a FIFO queue (SendMessage,
each entry of SendMessageBatch, and deliveries from SNS or EventBridge) is
first looked up among the deduplication ids the queue accepted in the last
five minutes, in its scope (the queue, or the message group): a duplicate is
validated as moto would, then answered with the first copy's MessageId and
SequenceNumber and not enqueued.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.backends._patch import patched

#: SQS's deduplication interval, in milliseconds.
INTERVAL_MS = 5 * 60 * 1000

_lock = threading.Lock()
#: Where a queue keeps what it accepted: scope key -> (message, sent at, in ms).
_MEMORY = "_harness_dedup"
#: Where a queue keeps the lock its sends are deduplicated under.
_LOCK = "_harness_dedup_lock"


def dedup_key(queue: Any, body: str, dedup_id: str | None, group_id: str | None) -> Any:
    """The key a send to FIFO ``queue`` is deduplicated under (None: it has
    none, and moto refuses the send)."""
    if dedup_id is None and getattr(queue, "content_based_deduplication", False) is True:
        dedup_id = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if dedup_id is None:
        return None
    if getattr(queue, "deduplication_scope", "queue") == "messageGroup":
        return (group_id, dedup_id)
    return dedup_id


def _queue_lock(queue: Any) -> Any:
    lock = queue.__dict__.get(_LOCK)
    if lock is None:
        with _lock:
            lock = queue.__dict__.setdefault(_LOCK, threading.RLock())
    return lock


def _memory(queue: Any, now_ms: float) -> OrderedDict[Any, tuple[Any, float]]:
    """The queue's accepted deduplication ids, forgetting those older than
    the interval (kept in the order they were sent)."""
    seen: OrderedDict[Any, tuple[Any, float]] = queue.__dict__.setdefault(_MEMORY, OrderedDict())
    while seen:
        key, (_, sent) = next(iter(seen.items()))
        if now_ms - sent < INTERVAL_MS:
            break
        del seen[key]
    return seen


@contextmanager
def fifo_dedup() -> Iterator[None]:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Message, SQSBackend

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            if not queue.fifo_queue:
                return original(self, queue_name, *args, **kwargs)
            bound = signature.bind(self, queue_name, *args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            body, group = a["message_body"], a["group_id"]
            key = dedup_key(queue, body, a["deduplication_id"], group)
            if key is None:
                return original(self, queue_name, *args, **kwargs)
            with _queue_lock(queue):
                seen = _memory(queue, unix_time_millis())
                first = seen.get(key)
                if first is None:
                    message = original(self, queue_name, *args, **kwargs)
                    if isinstance(key, tuple) and not any(m is message for m in queue._messages):
                        # moto dropped it as a duplicate of another group's message.
                        with queue._messages_lock:
                            queue._messages.append(message)
                            queue._messages_lock.notify_all()
                    seen[key] = (message, float(message.sent_timestamp or unix_time_millis()))
                    return message
            # A duplicate: refused for what moto would refuse it for, else
            # accepted, answered as the first copy and not enqueued.
            self._validate_message(
                queue,
                message_body=body,
                delay_seconds=int(a["delay_seconds"] or 0),
                deduplication_id=a["deduplication_id"],
                group_id=group,
                validate_group_id=a["validate_group_id"],
            )
            original_message = first[0]
            answer = Message(original_message.id, body, a["system_attributes"])
            answer.message_attributes = a["message_attributes"] or {}
            answer.sequence_number = original_message.sequence_number
            answer.group_id = group
            return answer

        return send_message

    with patched(SQSBackend, "send_message", wrap):
        yield
