"""Workers: one small protocol (``capability``, ``handle(task, ctx) -> result``)
that a user implements to swap one agent's logic, and the contract gate judges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class PermanentFailure(Exception):
    """The subtask cannot succeed however often it is retried."""


@runtime_checkable
class Worker(Protocol):
    capability: str

    def handle(self, task: Any, ctx: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WorkerKit:
    """What the contract gate needs to run a system's workers in-process,
    without AWS: the type of a worker's input (a pydantic model with
    ``task_id``, ``subtask_id``, ``capability``, ``topic``, ``token_budget``
    and ``inputs``), how to make the context a worker is handed, the model,
    the exceptions that are declared failures (not crashes), and where the
    system's message contracts are declared."""

    task_type: Any
    #: ``(agent, model, effects, recorder, task) -> ctx``; ``ctx.tokens_used``
    #: says what the worker spent. ``effects`` is the idempotent store.
    context: Callable[[str, Any, Any, Any, Any], Any]
    model: Callable[[int], Any]
    declared_failures: tuple[type[BaseException], ...] = (PermanentFailure,)
    #: ``pkg.module:function`` returning the :class:`harness.contracts.source.Source`.
    source: str = ""


def worker_kit(system: Any = None) -> WorkerKit:
    """The worker kit of ``system`` (default: the reference system); a clear error without one."""
    from harness.system.spec import SystemError_, load_system

    s = load_system(system)
    if s.worker_kit is None:
        raise SystemError_(f"system {s.name} declares no worker kit: its workers cannot be run by the gate")
    return s.worker_kit  # type: ignore[no-any-return]


def load_worker(spec: str) -> Worker:
    """A worker from ``pkg.module:Class`` (instantiated with no arguments)."""
    from harness.system.spec import load_object

    if ":" not in spec:
        raise ValueError(f"worker spec {spec!r} must look like pkg.module:Class")
    obj = load_object(spec)()
    if not isinstance(obj, Worker):
        raise TypeError(f"{spec} does not implement the Worker protocol (capability, handle)")
    return obj
