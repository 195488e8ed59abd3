"""The system under test: one object a user writes and names by import path.

A :class:`System` is a record of functions (as a Porcupine model is): how to
deploy its resources, which agents it has and how each is built from an
instrumented session, how to submit work and read each task's state, and
what the checkers must know about it (:class:`~harness.system.Declarations`).
Every runner (the simulator, ``harness run``, the pytest plugin, the
property suite, chaos, the contract gate) takes one; with none named, they
use the reference system (:data:`DEFAULT_SYSTEM`), which is written against
this seam like any user's system.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.system.declarations import Declarations
from harness.system.driving import Agent

#: The import path of the system runners use when none is named.
DEFAULT_SYSTEM = "reference_system.system:system"


class SystemError_(ValueError):  # noqa: N801 - "SystemError" is a builtin
    """A system could not be loaded or is malformed; the message is one line."""


@dataclass(frozen=True)
class AgentEnv:
    """What an agent's factory is given."""

    #: The agent's name (its process in the history).
    name: str
    #: Its instrumented boto3 Session: every call recorded, traced, faulted.
    session: Any
    #: What the system's ``deploy`` returned.
    resources: Any
    #: The system's model port, wrapped with the plan's model faults (None
    #: when the system has no model).
    model: Any
    #: Seconds on the agent's clock: virtual in the simulator, skewed when
    #: the fault plan skews it.
    clock: Callable[[], float]
    #: Fresh identifiers (seeded in the simulator, so runs replay).
    ids: Callable[[], str]
    seed: int = 0
    #: The run's options for the system (see :attr:`System.options`).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentSpec:
    """One agent: its name, its factory, and its role (what fault
    strategies aim at: ``supervisor``, ``worker``, ``consumer``...)."""

    name: str
    make: Callable[[AgentEnv], Agent]
    role: str = "agent"


@dataclass(frozen=True)
class Workload:
    """How work reaches the system and how a request is written down."""

    #: ``(n, seed) -> n requests``, the same for the same seed.
    requests: Callable[[int, int], list[Any]]
    #: ``(session, resources, request) -> task id``: submit as a client
    #: would (the session is the instrumented ``client`` session). Transient
    #: errors propagate; the runner retries.
    submit: Callable[[Any, Any, Any], str]
    #: The task id a request will have.
    request_id: Callable[[Any], str] = lambda r: str(r["request_id"])
    #: A request as JSON and back (case files store requests this way).
    to_json: Callable[[Any], dict[str, Any]] = lambda r: dict(r)
    from_json: Callable[[dict[str, Any]], Any] = lambda d: dict(d)
    #: ``(index, **kw) -> strategy`` of one request with id ``r<index>`` (the
    #: property suite draws workloads from it; ``kw`` it may ignore, such as
    #: the reference system's ``budgets`` and ``topics``).
    strategy: Callable[..., Any] | None = None
    #: One line per request, for failure messages.
    describe: Callable[[Any], str] = lambda r: json.dumps(r, sort_keys=True, default=str)


def _dump_json(resources: Any) -> str:
    to_json = getattr(resources, "to_json", None)
    return str(to_json()) if callable(to_json) else json.dumps(resources, sort_keys=True)


@dataclass(frozen=True)
class System:
    """A system under test (see the module docstring)."""

    name: str
    #: ``(session, prefix, *, visibility_timeout) -> resources``: create (or
    #: find) every queue, topic, rule, table and state machine; idempotent.
    deploy: Callable[..., Any]
    #: ``(resources, options) -> agents``.
    agents: Callable[[Any, Mapping[str, Any]], Sequence[AgentSpec]]
    workload: Workload
    #: ``(session, resources) -> {task id: state}`` (an uninstrumented session).
    task_states: Callable[[Any, Any], Mapping[str, str]]
    declarations: Declarations = field(default_factory=Declarations)
    #: ``seed -> model`` for systems with a model port.
    model: Callable[[int], Any] | None = None
    #: Default options, overridden per run (``workers``, ``auditor``...).
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Resources as text and back, for agents in other processes.
    dump_resources: Callable[[Any], str] = _dump_json
    load_resources: Callable[[str], Any] = json.loads
    #: ``(session, resources)``: delete what deploy made (remote backends).
    undeploy: Callable[[Any, Any], None] | None = None
    #: ``seed -> FaultPlan``: the system's default plan (``--plan default``,
    #: ``harness_chaos(plan="default")``); None: the harness's built-in one,
    #: whose faults are aimed by agent name globs and may miss some agents.
    fault_plan: Callable[[int], Any] | None = None
    #: What the contract gate needs to run its workers (a :class:`harness.system.WorkerKit`).
    worker_kit: Any = None
    #: Where the system's description lives (its import path), set by :func:`load_system`.
    spec: str = ""

    def agent_specs(self, resources: Any, options: Mapping[str, Any] | None = None) -> list[AgentSpec]:
        specs = list(self.agents(resources, self.merged(options)))
        names = [a.name for a in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SystemError_(f"system {self.name}: agent names must be unique, {', '.join(dup)} repeat")
        if not specs:
            raise SystemError_(f"system {self.name} has no agents")
        return specs

    def merged(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.options, **(options or {})}

    def checker_specs(self) -> dict[str, dict[str, Any]]:
        return self.declarations.checker_specs()

    def default_plan(self, seed: int) -> Any:
        """The fault plan ``default`` means for this system."""
        if self.fault_plan is not None:
            return self.fault_plan(seed)
        from harness.faults.defaults import default_plan

        return default_plan(seed)


def load_object(spec: str) -> Any:
    """The object named by ``pkg.module:Name``; a clear error otherwise."""
    mod, _, name = spec.partition(":")
    if not mod or not name:
        raise SystemError_(f"{spec!r} must look like pkg.module:Name")
    try:
        obj: Any = _import(mod)
    except ImportError as e:
        raise SystemError_(f"cannot import {mod!r} (from {spec!r}): {_line(e)}") from None
    except Exception as e:  # importing ran the module's code, and it raised
        raise SystemError_(f"cannot import {mod!r} (from {spec!r}): {type(e).__name__}: {_line(e)}") from None
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemError_(f"module {mod!r} has no {name!r} (from {spec!r})") from None
    return obj


def _line(e: BaseException) -> str:
    """The first line of an exception's message (messages of this module are one line)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


@dataclass(frozen=True)
class SystemRef:
    """A system under test as a run names it: its import path ("" for the
    reference system) and the options it runs with (JSON)."""

    spec: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> System:
        return load_system(self.spec or None)

    def describe(self) -> str:
        name = self.spec or "reference"
        if self.options:
            name += " " + json.dumps(dict(self.options), sort_keys=True)
        return name

    def agents(self) -> list[AgentSpec]:
        """The agents it runs with these options (built lazily: no resources needed)."""
        return self.load().agent_specs(None, self.options)

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Agent names by role."""
        out: dict[str, list[str]] = {}
        for a in self.agents():
            out.setdefault(a.role, []).append(a.name)
        return {r: tuple(n) for r, n in out.items()}


def _import(mod: str) -> Any:
    """Import ``mod``; a module missing from the path is looked for in the
    current directory too, as ``python -m`` would (the ``harness`` script does not)."""
    import os
    import sys

    try:
        return importlib.import_module(mod)
    except ModuleNotFoundError as e:
        cwd = os.getcwd()
        if e.name is None or not mod.startswith(e.name) or cwd in sys.path or "" in sys.path:
            raise
        sys.path.append(cwd)
        return importlib.import_module(mod)


_CACHE: dict[str, System] = {}


def load_system(spec: str | System | None = None) -> System:
    """The system named ``pkg.module:obj`` (an object, or a function of no
    arguments returning one); None: the reference system."""
    if isinstance(spec, System):
        return spec
    path = spec or DEFAULT_SYSTEM
    if path in _CACHE:
        return _CACHE[path]
    obj = load_object(path)
    if callable(obj) and not isinstance(obj, System):
        try:
            obj = obj()
        except Exception as e:  # the user's factory raised, or is not a function of no arguments
            raise SystemError_(f"{path}() raised {type(e).__name__}: {_line(e)}") from None
    if not isinstance(obj, System):
        raise SystemError_(f"{path} is a {type(obj).__name__}, not a harness.system.System")
    if not obj.spec:
        obj = _with_spec(obj, path)
    _CACHE[path] = obj
    return obj


def _with_spec(system: System, spec: str) -> System:
    import dataclasses

    return dataclasses.replace(system, spec=spec)
