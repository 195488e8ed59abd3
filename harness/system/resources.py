"""Finding a system's resources on a backend by the names a person uses
(``research``), whatever prefix the run deployed them under."""

from __future__ import annotations

from typing import Any


def find_queue_url(sqs: Any, name: str, prefix: str) -> str | None:
    """The URL of queue ``<prefix>-<name>``, else of queue ``name``; None if neither exists."""
    for candidate in (f"{prefix}-{name}", name):
        try:
            return str(sqs.get_queue_url(QueueName=candidate)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            continue
    return None
