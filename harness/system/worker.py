"""Workers: one small protocol (``capability``, ``handle(task, ctx) -> result``)
that a user implements to swap one agent's logic, and the contract gate judges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from harness.system.spec import SystemError_, load_object


class PermanentFailure(Exception):
    """The subtask cannot succeed however often it is retried."""


@runtime_checkable
class Worker(Protocol):
    capability: str

    def handle(self, task: Any, ctx: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WorkerKit:
    """What the contract gate needs to run a system's workers in-process:
    the type of a worker's input (a pydantic model with ``task_id``,
    ``subtask_id``, ``capability``, ``topic``, ``token_budget`` and
    ``inputs``), how to make the context a worker is handed, the model, the
    exceptions that are declared failures (not crashes), and where the
    system's message contracts are declared.

    ``context`` is called with five positional arguments. A kit whose
    workers use AWS themselves sets ``context_takes_aws``: the gate then
    deploys the system once on the embedded backend (moto, in-process) and
    also passes ``session=`` (the agent's instrumented boto3 session,
    recording into the gate's history) and ``resources=`` (what
    ``System.deploy`` returned) as keyword arguments, both None where a
    worker runs without a backend. Kits that leave it False are called as
    before and run without AWS."""

    task_type: Any
    #: ``(agent, model, effects, recorder, task[, *, session, resources]) -> ctx``;
    #: ``ctx.tokens_used`` says what the worker spent. ``effects`` is the idempotent store.
    context: Callable[..., Any]
    model: Callable[[int], Any]
    declared_failures: tuple[type[BaseException], ...] = (PermanentFailure,)
    #: ``pkg.module:function`` returning the :class:`harness.contracts.source.Source`.
    source: str = ""
    #: ``context`` also takes ``session=`` and ``resources=`` (see above).
    context_takes_aws: bool = False
    #: The directory of the system's contract registry (the default of
    #: ``harness contracts ... --dir``), and of the gate's golden inputs
    #: (``ROLE/*.json``; the default of ``--golden``): package data, so that
    #: an installed system is found without a checkout. "": none declared.
    contracts: str = ""
    golden: str = ""


def worker_kit(system: Any = None) -> WorkerKit:
    """The worker kit of ``system`` (default: the reference system); a clear error without one."""
    from harness.system.spec import load_system

    s = load_system(system)
    if s.worker_kit is None:
        raise SystemError_(f"system {s.name} declares no worker kit: its workers cannot be run by the gate")
    return s.worker_kit  # type: ignore[no-any-return]


class NotAWorker(SystemError_, TypeError):
    """What a worker spec names cannot serve as a worker; the message is one line."""


def load_worker(spec: str) -> Worker:
    """A worker from ``pkg.module:Class`` (instantiated with no arguments);
    :class:`NotAWorker` with a one-line message when the class cannot be
    imported, made, or lacks ``capability`` or ``handle``."""
    return _make(spec, _load(spec))


def check_worker(spec: str) -> Worker | None:
    """Check what a system's ``impls`` option may name: a Worker class (the
    worker, as :func:`load_worker` makes it) or an agent class (one with
    ``step()``, such as a subclass of the reference system's ``WorkerLoop``,
    which the system builds itself: None). Raises :class:`NotAWorker` (one line)."""
    obj = _load(spec)
    if isinstance(obj, type) and callable(getattr(obj, "step", None)):
        return None
    return _make(spec, obj)


def check_impls(impls: Any) -> None:
    """Check an ``impls`` option, ``{capability: "pkg.module:Class"}``
    (:func:`check_worker`, and a worker must serve the capability it is
    named for); :class:`NotAWorker` starting with the first bad capability."""
    if not isinstance(impls, Mapping):
        raise NotAWorker(f"impls must map capabilities to pkg.module:Class, not be a {type(impls).__name__}")
    for cap, spec in impls.items():
        if not isinstance(spec, str):
            raise NotAWorker(f"{cap}: expected a pkg.module:Class string, not a {type(spec).__name__}")
        try:
            worker = check_worker(spec)
        except NotAWorker as e:
            raise NotAWorker(f"{cap}: {e}") from None
        if worker is not None and worker.capability != cap:
            raise NotAWorker(f"{cap}: {spec} serves {worker.capability!r}, not {cap!r}")


def _load(spec: str) -> Any:
    if not isinstance(spec, str) or ":" not in spec:
        raise NotAWorker(f"worker spec {spec!r} must look like pkg.module:Class")
    try:
        return load_object(spec)
    except SystemError_ as e:
        raise NotAWorker(str(e)) from None


def _make(spec: str, obj: Any) -> Worker:
    if not isinstance(obj, type):
        kind = "function" if callable(obj) else type(obj).__name__
        raise NotAWorker(f"{spec} does not implement the Worker protocol: it is a {kind}, not a class")
    try:
        worker = obj()
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise NotAWorker(f"{spec} cannot be made with no arguments: {type(e).__name__}: {first}") from None
    if not hasattr(worker, "capability"):
        raise NotAWorker(f"{spec} does not implement the Worker protocol: it has no 'capability' attribute")
    if not isinstance(worker.capability, str):
        raise NotAWorker(
            f"{spec} does not implement the Worker protocol: its 'capability' is a {type(worker.capability).__name__}, not a str"
        )
    if not callable(getattr(worker, "handle", None)):
        raise NotAWorker(f"{spec} does not implement the Worker protocol: it has no 'handle' method")
    return worker  # type: ignore[no-any-return]
