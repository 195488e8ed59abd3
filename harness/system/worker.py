"""Workers: one small protocol (``capability``, ``handle(task, ctx) -> result``)
that a user implements to swap one agent's logic, and the contract gate judges."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class PermanentFailure(Exception):
    """The subtask cannot succeed however often it is retried."""


@runtime_checkable
class Worker(Protocol):
    capability: str

    def handle(self, task: Any, ctx: Any) -> dict[str, Any]: ...


def load_worker(spec: str) -> Worker:
    """A worker from ``pkg.module:Class`` (instantiated with no arguments)."""
    from harness.system.spec import load_object

    if ":" not in spec:
        raise ValueError(f"worker spec {spec!r} must look like pkg.module:Class")
    obj = load_object(spec)()
    if not isinstance(obj, Worker):
        raise TypeError(f"{spec} does not implement the Worker protocol (capability, handle)")
    return obj
