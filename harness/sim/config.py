"""What a simulated run is made of (:class:`SimConfig`) and what it leaves (:class:`SimResult`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.faults.plan import FaultPlan
from harness.history.jsonl import write_history
from harness.history.model import Op
from harness.run.invariants import Invariant


@dataclass
class SimConfig:
    seed: int = 1
    requests: int = 10
    workers: int = 1
    plan: FaultPlan | None = None
    visibility_timeout: int = 5
    max_virtual_seconds: float = 3600.0
    max_steps: int = 100_000
    #: The system under test: an import path (``pkg.module:obj``), a
    #: :class:`harness.system.System`, or None for the reference system.
    system: Any = None
    #: Options for the system (see its ``options``), over ``workers``,
    #: ``supervisors`` and ``auditor`` where the system declares those.
    options: dict[str, Any] = field(default_factory=dict)
    #: Explicit scheduling choices (indices into the ready agents, taken
    #: modulo their number) consumed before the seeded generator.
    schedule: Sequence[int] | None = None
    prefix: str = "sim"
    #: Explicit requests (the system's own kind), used instead of ``requests`` generated ones.
    workload: Sequence[Any] | None = None
    #: Supervisor replicas, for systems that have them (the reference system's option).
    supervisors: int = 1
    #: Run the reference system's audit consumer of the status topic (it only tallies events).
    auditor: bool = True
    #: Stop early once nothing can happen any more (every agent idle, every
    #: queue empty, nobody waiting to restart): a stuck run ends in seconds.
    stop_when_quiet: bool = True


def default_scenario(
    seed: int = 1, requests: int = 10, plan: FaultPlan | Literal["default"] | None = "default"
) -> SimConfig:
    """What ``harness run --sim`` simulates: ``requests`` generated requests
    under ``plan`` (``"default"``: the built-in default plan; None: no faults),
    with the same 30 s visibility timeout as live runs."""
    from harness.faults.defaults import default_plan

    return SimConfig(
        seed=seed,
        requests=requests,
        plan=default_plan(seed) if plan == "default" else plan,  # type: ignore[arg-type]
        visibility_timeout=30,
    )


@dataclass
class SimResult:
    config: SimConfig
    ops: list[Op]
    invariants: list[Invariant]
    task_states: dict[str, str]
    requests: list[str]
    virtual_seconds: float
    real_seconds: float
    steps: int
    choices: list[int]
    faults_injected: int
    #: Why the run ended: finished, quiet, time limit, step limit, all dead.
    stopped: str = "finished"

    @property
    def ok(self) -> bool:
        return all(i.holds for i in self.invariants)

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_history(self.ops, p)
        return p
