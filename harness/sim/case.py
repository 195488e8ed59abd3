"""A replayable simulated run: everything that decides its history, in one
JSON file. The same case gives the same history, byte for byte::

    python -m harness.sim replay CASE.json --out history.jsonl
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.faults.plan import FaultPlan
from harness.sim.config import SimConfig, SimResult

if TYPE_CHECKING:
    from harness.checkers.verdict import Verdict


def load_object(spec: str) -> Any:
    """The object named by ``pkg.module:Name``."""
    mod, _, name = spec.partition(":")
    if not mod or not name:
        raise ValueError(f"{spec!r} must look like pkg.module:Name")
    obj: Any = importlib.import_module(mod)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def spec_of(obj: Any) -> str:
    """``pkg.module:Name`` for a class or function defined at module level."""
    return f"{obj.__module__}:{obj.__qualname__}"


@dataclass(frozen=True)
class System:
    """Which implementations make up the system under test, by import path:
    workers per capability (``research=pkg.mod:Class``), and optionally the
    supervisor and the worker loop. Empty: the reference system."""

    workers: dict[str, str] = field(default_factory=dict)
    supervisor: str | None = None
    worker_loop: str | None = None

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> System:
        """From ``capability=pkg.module:Class`` strings (``--harness-worker``)."""
        workers: dict[str, str] = {}
        for spec in specs:
            cap, eq, path = spec.strip().partition("=")
            if not eq or not cap or ":" not in path:
                raise ValueError(f"worker {spec!r} must look like capability=pkg.module:Class")
            workers[cap.strip()] = path.strip()
        return cls(workers=workers)

    def configure(self, cfg: SimConfig) -> SimConfig:
        """``cfg`` with this system's implementations plugged in."""
        cfg.worker_factories = {cap: load_object(path) for cap, path in self.workers.items()}
        cfg.supervisor_class = load_object(self.supervisor) if self.supervisor else None
        cfg.worker_loop_class = load_object(self.worker_loop) if self.worker_loop else None
        return cfg

    def describe(self) -> str:
        parts = [f"{c}={p}" for c, p in sorted(self.workers.items())]
        if self.supervisor:
            parts.append(f"supervisor={self.supervisor}")
        if self.worker_loop:
            parts.append(f"worker_loop={self.worker_loop}")
        return ", ".join(parts) or "reference"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.workers:
            out["workers"] = dict(sorted(self.workers.items()))
        if self.supervisor:
            out["supervisor"] = self.supervisor
        if self.worker_loop:
            out["worker_loop"] = self.worker_loop
        return out


@dataclass(frozen=True)
class Case:
    """Seed, workload, fault plan, schedule and system of one simulated run."""

    seed: int = 0
    #: Requests as dicts (request_id, topic, token_budget).
    workload: tuple[dict[str, Any], ...] = ()
    plan: FaultPlan = field(default_factory=FaultPlan)
    schedule: tuple[int, ...] = ()
    system: System = field(default_factory=System)
    workers: int = 1
    supervisors: int = 1
    visibility_timeout: int = 5
    max_virtual_seconds: float = 120.0
    auditor: bool = False

    @classmethod
    def of(
        cls,
        seed: int,
        workload: list[Any],
        plan: FaultPlan | None = None,
        schedule: list[int] | tuple[int, ...] = (),
        system: System | None = None,
        **kw: Any,
    ) -> Case:
        """From BriefRequests (or dicts), as strategies draw them."""
        reqs = tuple(r if isinstance(r, dict) else r.model_dump(mode="json") for r in workload)
        return cls(
            seed=seed,
            workload=reqs,
            plan=plan or FaultPlan(seed=seed),
            schedule=tuple(schedule),
            system=system or System(),
            **kw,
        )

    def config(self) -> SimConfig:
        from reference_system.messages import BriefRequest

        cfg = SimConfig(
            seed=self.seed,
            workload=[BriefRequest.model_validate(r) for r in self.workload],
            plan=self.plan,
            schedule=list(self.schedule),
            workers=self.workers,
            supervisors=self.supervisors,
            visibility_timeout=self.visibility_timeout,
            max_virtual_seconds=self.max_virtual_seconds,
            auditor=self.auditor,
        )
        return self.system.configure(cfg)

    def run(self, checkers: Iterable[str] | None = None) -> tuple[SimResult, list[Verdict]]:
        """Simulate the case and check it: its result and every verdict."""
        from harness.sim.checks import DEFAULT_CHECKERS, check_run
        from harness.sim.simulator import simulate

        result = simulate(self.config())
        verdicts = check_run(
            result.ops,
            result.requests,
            result.task_states,
            DEFAULT_CHECKERS if checkers is None else checkers,
            note=f"run ended: {result.stopped} at {result.virtual_seconds:.1f} virtual seconds",
        )
        return result, verdicts

    # -- files ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "workload": list(self.workload),
            "plan": json.loads(self.plan.model_dump_json(exclude_defaults=True)),
            "schedule": list(self.schedule),
            "system": self.system.to_json(),
            "workers": self.workers,
            "supervisors": self.supervisors,
            "visibility_timeout": self.visibility_timeout,
            "max_virtual_seconds": self.max_virtual_seconds,
            "auditor": self.auditor,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        d = dict(data)
        sys_d = d.pop("system", {}) or {}
        plan = FaultPlan.parse(json.dumps(d.pop("plan", {})), "case plan")
        return cls(
            seed=int(d.pop("seed", 0)),
            workload=tuple(d.pop("workload", [])),
            plan=plan,
            schedule=tuple(int(x) for x in d.pop("schedule", [])),
            system=System(
                workers=dict(sys_d.get("workers", {})),
                supervisor=sys_d.get("supervisor"),
                worker_loop=sys_d.get("worker_loop"),
            ),
            **d,
        )

    @classmethod
    def load(cls, path: str | Path) -> Case:
        return cls.from_json(json.loads(Path(path).read_text()))

    def digest(self) -> str:
        return hashlib.blake2b(self.dumps().encode(), digest_size=6).hexdigest()

    def save(self, directory: str | Path, name: str = "case") -> Path:
        """Write the case to ``directory/<name>-<digest>.json``; returns the path."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{_safe(name)}-{self.digest()}.json"
        p.write_text(self.dumps())
        return p

    def describe(self) -> str:
        """The case in a few lines: what a person needs to see to understand a failure."""
        reqs = ", ".join(
            f"{r['request_id']} ({r['topic']}, budget {r['token_budget']})" for r in self.workload
        )
        lines = [
            f"seed:     {self.seed}",
            f"workload: {reqs or '(none)'}",
            f"schedule: {list(self.schedule)}",
            f"system:   {self.system.describe()}; {self.workers} worker(s) per capability, "
            f"{self.supervisors} supervisor(s)",
            "plan:     "
            + (
                "\n          ".join(
                    json.dumps(f, sort_keys=True)
                    for f in json.loads(self.plan.model_dump_json(exclude_defaults=True)).get("faults", [])
                )
                or "(no faults)"
            ),
        ]
        return "\n".join(lines)


def replay_command(path: str | Path) -> str:
    """The one-line command that replays a saved case."""
    return f"python -m harness.sim replay {shlex.quote(str(path))}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "case"
