"""One test's harness state: its history, fault plan, systems and simulated
runs; and, after the test, the checks that fail it with a readable verdict."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.faults.plan import FaultPlan
from harness.history.recorder import Recorder
from harness.sim.case import Case, replay_command
from harness.sim.config import SimResult
from harness.testing.config import HarnessConfig


@dataclass(frozen=True)
class Checks:
    """What ``harness_checks(...)`` asks for: checker names (None: the default
    set), keyword arguments per checker, and whether the run properties
    (stages, crashes; liveness and retries for simulated runs) are checked."""

    names: tuple[str, ...] | None = None
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: bool = True

    @classmethod
    def from_marker(cls, marker: Any) -> Checks:
        if marker is None:
            return cls()
        from harness.checkers.registry import CHECKERS

        names = tuple(str(a) for a in marker.args)
        unknown = [n for n in names if n not in CHECKERS]
        if unknown:
            raise ValueError(
                f"harness_checks: unknown checker(s) {', '.join(unknown)}; choose from {', '.join(CHECKERS)}"
            )
        return cls(names, dict(marker.kwargs.get("specs") or {}), bool(marker.kwargs.get("properties", True)))

    def checker_names(self) -> tuple[str, ...]:
        from harness.sim.checks import DEFAULT_CHECKERS

        return (*DEFAULT_CHECKERS, "delivery") if self.names is None else self.names


class TestRun:
    """Created by the first harness fixture a test uses; verified after the test."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, nodeid: str, config: HarnessConfig, checks: Checks, plan: FaultPlan) -> None:
        self.nodeid = nodeid
        self.config = config
        self.checks = checks
        self.plan = plan
        self.recorder = Recorder()
        self.used_history = False
        self.systems: list[Any] = []
        self.sims: list[tuple[Case, SimResult]] = []
        #: The test as the command line names it from where pytest was started (default: the node id).
        self.rerun_arg = ""
        self._injector: Any = None

    @property
    def injector(self) -> Any:
        """One fault injector per test, shared by every session the test makes."""
        if self._injector is None:
            from harness.faults.injector import FaultInjector

            self._injector = FaultInjector(self.plan, self.recorder)
        return self._injector

    def record_sim(self, case: Case, result: SimResult) -> None:
        self.sims.append((case, result))

    def stop(self) -> None:
        for s in self.systems:
            s.stop()
        self.systems.clear()

    # -- after the test ------------------------------------------------------------

    def verify(self) -> str | None:
        """Run the checks; returns the failure message, or None if all hold.
        Writes the histories and verdicts to the report directory if there is one."""
        from harness.sim.checks import check_history, check_run, failures

        self.stop()
        problems: list[str] = []
        names = self.checks.checker_names()
        ops = self.recorder.ops
        specs = self.specs()
        if self.used_history or ops:
            verdicts = self._verdicts(ops, names, check_history, specs)
            self._report("history", ops, verdicts)
            bad = failures(verdicts)
            if bad:
                problems.append(self._explain_live(bad, ops))
        for i, (case, result) in enumerate(self.sims):
            if self.checks.properties:
                note = f"run ended: {result.stopped} at {result.virtual_seconds:.1f} virtual seconds"
                verdicts = check_run(
                    result.ops, result.requests, result.task_states, names, specs=specs, note=note
                )
            else:
                verdicts = self._verdicts(result.ops, names, check_history, specs)
            self._report(f"sim-{i}", result.ops, verdicts, case)
            bad = failures(verdicts)
            if bad:
                problems.append(self._explain_sim(bad, case, result, i))
        return "\n\n".join(problems) or None

    def specs(self) -> dict[str, dict[str, Any]]:
        """Per-checker settings: the system's declarations, then the marker's ``specs``."""
        out = self.config.system.load().checker_specs()
        for name, kw in self.checks.specs.items():
            out[name] = {**out.get(name, {}), **kw}
        return out

    def _verdicts(
        self, ops: list[Any], names: tuple[str, ...], check_history: Any, specs: dict[str, Any]
    ) -> list[Any]:
        if self.checks.properties:
            return list(check_history(ops, names, specs=specs))
        from harness.checkers import check

        return list(check(ops, names, specs=specs)) if names else []

    def _explain_live(self, bad: list[Any], ops: list[Any]) -> str:
        from harness.sim.explain import explain

        where = self._dir()
        lines = [
            "harness: a checked property does not hold in this test's history",
            explain(bad, ops),
            f"seed: {self.config.seed} (backend {self.config.backend})",
        ]
        if where is not None:
            lines.append(f"history: {where / 'history.jsonl'}")
        lines.append(f"replay: {self.pytest_command()}")
        return "\n".join(lines)

    def _explain_sim(self, bad: list[Any], case: Case, result: SimResult, i: int) -> str:
        from harness.sim.explain import explain

        path = case.save(self.config.cases_dir, _safe(self.nodeid))
        return "\n".join(
            [
                f"harness: a checked property does not hold in simulated run {i + 1} of this test",
                explain(bad, result.ops),
                case.describe(),
                f"run:      ended {result.stopped} after {result.virtual_seconds:.1f} virtual seconds",
                f"replay: {with_pythonpath(replay_command(path), self.config.pythonpath)}",
            ]
        )

    def pytest_command(self) -> str:
        """The command line that runs this test again with the same seed and settings."""
        return pytest_command(self.rerun_arg or self.nodeid, self.config)

    # -- the report directory ----------------------------------------------------------

    def _dir(self) -> Path | None:
        if self.config.report_dir is None:
            return None
        d = self.config.report_dir / _safe(self.nodeid)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _report(self, name: str, ops: list[Any], verdicts: list[Any], case: Case | None = None) -> None:
        d = self._dir()
        if d is None:
            return
        from harness.history.jsonl import write_history

        write_history(ops, d / f"{name}.jsonl")
        (d / f"{name}.verdicts.json").write_text(
            json.dumps([v.to_dict() for v in verdicts], indent=2, sort_keys=True, default=str) + "\n"
        )
        if case is not None:
            (d / f"{name}.case.json").write_text(case.dumps())
        elif self.plan.faults:
            self.plan.dump(d / "plan.json")


def pytest_command(test: str, config: HarnessConfig) -> str:
    """``pytest TEST`` with the seed, backend, system and workers of
    ``config`` (and the ``PYTHONPATH`` they need): the run again."""
    parts = ["pytest", shlex.quote(test), "--harness-seed", str(config.seed)]
    if config.hypothesis_seed is not None:
        parts += ["--hypothesis-seed", shlex.quote(config.hypothesis_seed)]
    if config.backend != "embedded":
        parts += ["--harness-backend", config.backend]
    if config.system.spec:
        parts += ["--harness-system", shlex.quote(config.system.spec)]
    for cap, path in sorted((config.system.options.get("impls") or {}).items()):
        parts += ["--harness-worker", shlex.quote(f"{cap}={path}")]
    return with_pythonpath(" ".join(parts), config.pythonpath)


def with_pythonpath(command: str, pythonpath: Sequence[str]) -> str:
    """``command`` run with ``pythonpath`` searched first (and the caller's ``PYTHONPATH`` after)."""
    if not pythonpath:
        return command
    dirs = [*pythonpath, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return f"PYTHONPATH={shlex.quote(os.pathsep.join(dict.fromkeys(dirs)))} {command}"


def import_roots(modules: Iterable[str], searched: Iterable[str]) -> tuple[str, ...]:
    """The directories the (imported) ``modules`` came from, in order, but
    for those in ``searched`` (where a fresh interpreter looks anyway)."""
    known = {_resolved(p) for p in searched if p}
    out: dict[str, None] = {}
    for name in modules:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        depth = name.count(".") + (path.name == "__init__.py")
        if depth >= len(path.parents):
            continue
        root = path.parents[depth]
        if str(root) not in known:
            out[str(root)] = None
    return tuple(out)


def _resolved(p: str) -> str:
    try:
        return str(Path(p).resolve())
    except OSError:
        return p


def rerun_arg(item: Any) -> str:
    """The test as a command line started where this pytest was names it (the
    node id holds the path from the rootdir)."""
    nodeid = str(item.nodeid)
    _, sep, rest = nodeid.partition("::")
    try:
        rel = os.path.relpath(item.path, item.config.invocation_params.dir)
    except (AttributeError, ValueError):
        return nodeid
    return rel + sep + rest


def _safe(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:120] or "test"
