"""A replayable simulated run: everything that decides its history, in one
JSON file. The same case gives the same history, byte for byte::

    python -m harness.sim replay CASE.json --out history.jsonl
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.faults.plan import FaultPlan
from harness.sim.config import SimConfig, SimResult
from harness.system import System, load_object, load_system

if TYPE_CHECKING:
    from harness.checkers.verdict import Verdict


def spec_of(obj: Any) -> str:
    """``pkg.module:Name`` for a class or function defined at module level."""
    return f"{obj.__module__}:{obj.__qualname__}"


def worker_options(specs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Options swapping workers of a system that has them, from
    ``capability=pkg.module:Class`` strings (``--harness-worker``): the
    ``impls`` option, ``{capability: import path}``."""
    workers: dict[str, str] = {}
    for spec in specs:
        cap, eq, path = spec.strip().partition("=")
        if not eq or not cap or ":" not in path:
            raise ValueError(f"worker {spec!r} must look like capability=pkg.module:Class")
        workers[cap.strip()] = path.strip()
    return {"impls": workers} if workers else {}


def _legacy_options(d: dict[str, Any]) -> dict[str, Any]:
    """Options from the older ``system`` object of a case file (workers,
    supervisor and worker loop of the reference system, by import path)."""
    out: dict[str, Any] = {}
    if d.get("workers"):
        out["impls"] = dict(d["workers"])
    if d.get("supervisor"):
        out["supervisor_class"] = d["supervisor"]
    if d.get("worker_loop"):
        out["worker_loop_class"] = d["worker_loop"]
    return out


#: The knobs of a simulated run besides its system's options (fields of
#: :class:`Case`), with their defaults. ``workers`` and ``supervisors`` are
#: the system's options of those names, where it declares them.
KNOBS: dict[str, Any] = {
    "workers": 1,
    "supervisors": 1,
    "visibility_timeout": 5,
    "max_virtual_seconds": 120.0,
    "auditor": False,
}


def check_knobs(system: str | System | None = None, **knobs: Any) -> None:
    """A ``ValueError`` (one line) for a knob that is unknown, out of range,
    or a scale (``workers``, ``supervisors`` other than 1) the system does not declare."""
    for k, v in knobs.items():
        if k not in KNOBS:
            raise ValueError(f"unknown knob {k!r}: choose from {', '.join(KNOBS)}")
        if k in ("workers", "supervisors", "visibility_timeout"):
            low = 0 if k == "visibility_timeout" else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < low or v > 43200:
                raise ValueError(f"{k} must be a whole number from {low} to 43200, not {v!r}")
        elif k == "max_virtual_seconds":
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ValueError(f"max_virtual_seconds must be a positive number, not {v!r}")
        elif not isinstance(v, bool):
            raise ValueError(f"{k} must be true or false, not {v!r}")
    scale = {k: knobs[k] for k in ("workers", "supervisors") if knobs.get(k, 1) != 1}
    if scale:
        sut = load_system(system or None)
        for k, v in scale.items():
            if k not in sut.options:
                raise ValueError(f"system {sut.name} has no {k!r} option: it cannot run {v} {k}")


@dataclass(frozen=True)
class Case:
    """Seed, workload, fault plan, schedule and system of one simulated run."""

    seed: int = 0
    #: Requests as JSON (the system's ``workload.to_json``).
    workload: tuple[dict[str, Any], ...] = ()
    plan: FaultPlan = field(default_factory=FaultPlan)
    schedule: tuple[int, ...] = ()
    #: The system under test by import path ("": the reference system).
    system: str = ""
    #: The system's options (JSON).
    options: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    supervisors: int = 1
    visibility_timeout: int = 5
    max_virtual_seconds: float = 120.0
    auditor: bool = False
    #: Judge liveness and retries too; False: safety only (nothing lost or
    #: done twice, progress not promised), as with two supervisor replicas.
    live: bool = True

    @classmethod
    def of(
        cls,
        seed: int,
        workload: list[Any],
        plan: FaultPlan | None = None,
        schedule: list[int] | tuple[int, ...] = (),
        system: str = "",
        options: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Case:
        """From the system's requests (or their JSON), as strategies draw them."""
        wl = load_system(system or None).workload
        reqs = tuple(r if isinstance(r, dict) else wl.to_json(r) for r in workload)
        return cls(
            seed=seed,
            workload=reqs,
            plan=plan or FaultPlan(seed=seed),
            schedule=tuple(schedule),
            system=system,
            options=dict(options or {}),
            **kw,
        )

    def check(self) -> Case:
        """The case itself, once its knobs are known good (:func:`check_knobs`)."""
        check_knobs(self.system, **{k: getattr(self, k) for k in KNOBS})
        return self

    @property
    def sut(self) -> System:
        """The system under test."""
        return load_system(self.system or None)

    def config(self) -> SimConfig:
        wl = self.sut.workload
        return SimConfig(
            seed=self.seed,
            system=self.system or None,
            options=dict(self.options),
            workload=[wl.from_json(dict(r)) for r in self.workload],
            plan=self.plan,
            schedule=list(self.schedule),
            workers=self.workers,
            supervisors=self.supervisors,
            visibility_timeout=self.visibility_timeout,
            max_virtual_seconds=self.max_virtual_seconds,
            auditor=self.auditor,
        )

    def run(
        self, checkers: Iterable[str] | None = None, *, fork: bool = False
    ) -> tuple[SimResult, list[Verdict]]:
        """Simulate the case and check it: its result and every verdict.
        ``fork``: start from a deployed state kept by this process's fork
        server (:mod:`harness.sim.forkserver`; the same history, without the
        set-up, for the second case on), rather than deploying afresh."""
        if fork:
            from harness.sim.forkserver import simulate
        else:
            from harness.sim.simulator import simulate

        result = simulate(self.config())
        return result, self.judge(
            result.ops,
            result.requests,
            result.task_states,
            checkers,
            note=f"run ended: {result.stopped} at {result.virtual_seconds:.1f} virtual seconds",
        )

    def judge(
        self,
        ops: Any,
        requests: Iterable[str],
        task_states: dict[str, str],
        checkers: Iterable[str] | None = None,
        *,
        note: str = "",
    ) -> list[Verdict]:
        """The verdicts on a run of this case: everything, or the history's
        safety checkers alone when the case is not :attr:`live`."""
        from harness.sim.checks import DEFAULT_CHECKERS, check_history, check_run

        names = DEFAULT_CHECKERS if checkers is None else checkers
        specs = self.sut.checker_specs()
        if not self.live:
            return check_history(ops, names, specs=specs)
        return check_run(ops, requests, task_states, names, specs=specs, note=note)

    # -- files ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "workload": list(self.workload),
            "plan": json.loads(self.plan.model_dump_json(exclude_defaults=True)),
            "schedule": list(self.schedule),
            "system": self.system,
            "options": self.options,
            "workers": self.workers,
            "supervisors": self.supervisors,
            "visibility_timeout": self.visibility_timeout,
            "max_virtual_seconds": self.max_virtual_seconds,
            "auditor": self.auditor,
            **({} if self.live else {"live": False}),  # older case files stay as they were
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        d = dict(data)
        sys_d = d.pop("system", "") or ""
        options = dict(d.pop("options", {}) or {})
        if isinstance(sys_d, dict):  # the older form: parts of the reference system
            options = {**_legacy_options(sys_d), **options}
            sys_d = ""
        plan = FaultPlan.parse(json.dumps(d.pop("plan", {})), "case plan")
        return cls(
            seed=int(d.pop("seed", 0)),
            workload=tuple(d.pop("workload", [])),
            plan=plan,
            schedule=tuple(int(x) for x in d.pop("schedule", [])),
            system=str(sys_d),
            options=options,
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
        wl = self.sut.workload
        reqs = ", ".join(wl.describe(wl.from_json(dict(r))) for r in self.workload)
        lines = [
            f"seed:     {self.seed}",
            f"workload: {reqs or '(none)'}",
            f"schedule: {list(self.schedule)}",
            f"system:   {self.sut.name}"
            + (f" ({json.dumps(self.options, sort_keys=True)})" if self.options else "")
            + f"; {self.workers} worker(s) per role, {self.supervisors} supervisor(s)"
            + ("" if self.live else "; judged on safety only"),
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


__all__ = ["KNOBS", "Case", "check_knobs", "load_object", "replay_command", "spec_of", "worker_options"]
