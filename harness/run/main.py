"""The main job: run the reference system, record it, check it, summarise it."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import settings
from harness.backends import Endpoints, embedded
from harness.faults.plan import FaultPlan
from harness.history.jsonl import iter_history, merge_files
from harness.history.recorder import Recorder, wall_clock
from harness.instrument.session import plain_session, session
from harness.run import processes
from harness.run.invariants import Invariant, all_terminal, no_double_effects

Progress = Callable[[int, int], None]


class RunError(RuntimeError):
    """A run that could not be carried out (bad input, backend trouble)."""


@dataclass
class RunConfig:
    backend: str = "embedded"
    requests: int = 20
    workers: int = 3
    seed: int = 1
    out: Path | None = None
    timeout: float = 600.0
    prefix: str = "mas"
    plan: FaultPlan | None = None
    sim: bool = False

    def validate(self) -> None:
        if self.backend not in ("embedded", "localstack"):
            raise RunError(f"unknown backend {self.backend!r}: available: embedded, localstack")
        if self.sim and self.backend != "embedded":
            raise RunError("--sim runs on the embedded backend only")
        if self.requests < 0:
            raise RunError("--requests must be zero or more")
        if self.workers < 1:
            raise RunError("--workers must be at least 1")
        if self.timeout <= 0:
            raise RunError("--timeout must be positive")


@dataclass
class RunResult:
    out: Path
    history: Path
    submitted: int
    completed: int
    failed: int
    unfinished: list[str]
    operations: int
    wall_time: float
    invariants: list[Invariant] = field(default_factory=list)
    audit_events: dict[str, int] = field(default_factory=dict)
    faults: int = 0
    restarts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    verdicts: list[Any] = field(default_factory=list)
    report: Path | None = None

    @property
    def ok(self) -> bool:
        """The invariants hold and no checker found a violation."""
        return all(i.holds for i in self.invariants) and all(v.valid is not False for v in self.verdicts)


def default_out(seed: int, sim: bool = False) -> Path:
    return settings.RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{'sim-' if sim else ''}seed{seed}"


def run(cfg: RunConfig, progress: Progress | None = None) -> RunResult:
    """Run the reference system (as processes on the server-mode embedded
    backend, or in the deterministic simulator) and check what it did."""
    cfg.validate()
    out = cfg.out or default_out(cfg.seed, cfg.sim)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.plan is not None:
        cfg.plan.dump(out / "plan.json")
    result = _run_sim(cfg, out) if cfg.sim else _run_processes(cfg, out, progress)
    _check_and_report(result)
    (out / "summary.json").write_text(json.dumps(_summary_json(result), indent=2))
    return result


def _check_and_report(result: RunResult) -> None:
    """Audit the outputs (findings join the history), run every checker, and
    write report.html beside the history."""
    from harness.audit import audit_file
    from harness.history.jsonl import read_history
    from harness.report import build_report, run_checkers

    audit_file(result.history)
    ops, verdicts = run_checkers(read_history(result.history))
    result.operations = len(ops)
    result.verdicts = verdicts
    result.report = build_report(result.history, result.out / "report.html", verdicts=verdicts)


def _run_sim(cfg: RunConfig, out: Path) -> RunResult:
    from harness.sim import default_scenario, simulate

    r = simulate(default_scenario(cfg.seed, cfg.requests, cfg.plan))
    history = r.write(out / "history.jsonl")
    return _result(
        out,
        history,
        r.requests,
        r.task_states,
        len(r.ops),
        r.real_seconds,
        {},
        r.invariants,
        faults=r.faults_injected,
        extra={
            "virtual_seconds": round(r.virtual_seconds, 3),
            "steps": r.steps,
            "replay": f"harness run --sim --seed {cfg.seed} --requests {cfg.requests}"
            + (f" --plan {out / 'plan.json'}" if cfg.plan else ""),
        },
    )


@dataclass
class _Proc:
    args: list[str]
    log: Path
    popen: subprocess.Popen[bytes]


def _run_processes(cfg: RunConfig, out: Path, progress: Progress | None) -> RunResult:
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    start_ns = time.time_ns()
    t0 = time.monotonic()
    from reference_system.resources import deploy, task_states

    with _backend(cfg) as ep:
        with Recorder(parts / "history.deploy.jsonl", clock=wall_clock(start_ns), keep=False) as rec:
            res = deploy(session(ep, "deploy", rec), cfg.prefix)
        (out / "resources.json").write_text(res.to_json())
        common = [
            "--resources",
            str(out / "resources.json"),
            "--seed",
            str(cfg.seed),
            "--start-ns",
            str(start_ns),
            "--exit-with-parent",  # a killed `harness run` leaves no agent behind
        ]
        if cfg.plan is not None:
            common += ["--plan", str(out / "plan.json")]

        def start(role: str, name: str, extra: list[str]) -> _Proc:
            args = [role, "--agent", name, "--history", str(parts / f"history.{name}.jsonl"), *extra, *common]
            log = parts / f"{name}.log"
            return _Proc(args, log, processes.spawn(args, ep, log))

        workers = [
            start("worker", f"worker-{i}", ["--capabilities", ",".join(caps)])
            for i, caps in enumerate(processes.assign_capabilities(cfg.workers), 1)
        ]
        progress_file, summary_file = parts / "progress.json", parts / "summary.json"
        sup = start(
            "supervisor",
            "supervisor",
            [
                "--requests",
                str(cfg.requests),
                "--progress",
                str(progress_file),
                "--summary",
                str(summary_file),
                "--timeout",
                str(cfg.timeout),
            ],
        )
        restarts = 0
        try:
            while True:
                code = sup.popen.poll()
                if code is not None and not _crashed(code):
                    break
                for p in [sup, *workers]:
                    if p.popen.poll() is not None and _crashed(p.popen.returncode):
                        # Killed by a crash fault: bring it back, as a process manager would.
                        restarts += 1
                        p.popen = processes.spawn([*p.args, "--skip-crash"], ep, p.log)
                if progress is not None:
                    _report_progress(progress_file, progress)
                time.sleep(0.2)
        finally:
            processes.stop([p.popen for p in (sup, *workers)])
        if sup.popen.returncode != 0 or not summary_file.exists():
            tail = sup.log.read_text(errors="replace").strip().splitlines()[-1:]
            raise RunError(
                f"supervisor exited with {sup.popen.returncode}: {tail[0] if tail else 'no output'}"
            )
        summary = json.loads(summary_file.read_text())
        states = task_states(plain_session(ep), res)
    history = out / "history.jsonl"
    n_ops = merge_files(sorted(parts.glob("history.*.jsonl")), history)
    faults = sum(1 for op in iter_history(history) if op.f.startswith("fault."))
    invariants = [all_terminal(summary["requests"], states), no_double_effects(iter_history(history))]
    return _result(
        out,
        history,
        summary["requests"],
        states,
        n_ops,
        time.monotonic() - t0,
        summary.get("audit_events", {}),
        invariants,
        faults=faults,
        restarts=restarts,
    )


def _backend(cfg: RunConfig) -> Any:
    """Agents are separate processes: the embedded backend runs as a server."""
    if cfg.backend == "embedded":
        return embedded("server", seed=cfg.seed)
    from harness.backends import open_backend

    return open_backend(cfg.backend)


def _crashed(returncode: int) -> bool:
    return returncode in (-9, 137)


def _report_progress(progress_file: Path, progress: Progress) -> None:
    try:
        p = json.loads(progress_file.read_text())
        progress(p["finished"], p["submitted"])
    except (OSError, ValueError, KeyError):
        pass


def _result(
    out: Path,
    history: Path,
    requests: list[str],
    states: dict[str, str],
    n_ops: int,
    wall: float,
    audit: dict[str, int],
    invariants: list[Invariant],
    **kw: Any,
) -> RunResult:
    counts = Counter(states.get(r) for r in requests)
    return RunResult(
        out=out,
        history=history,
        submitted=len(requests),
        completed=counts["done"],
        failed=counts["failed"],
        unfinished=sorted(r for r in requests if states.get(r) not in ("done", "failed")),
        operations=n_ops,
        wall_time=wall,
        invariants=invariants,
        audit_events=audit,
        **kw,
    )


def _summary_json(r: RunResult) -> dict[str, Any]:
    return {
        "submitted": r.submitted,
        "completed": r.completed,
        "failed": r.failed,
        "unfinished": r.unfinished,
        "operations": r.operations,
        "faults_injected": r.faults,
        "restarts": r.restarts,
        "wall_time_s": round(r.wall_time, 3),
        "audit_events": r.audit_events,
        **r.extra,
        "invariants": [{"name": i.name, "holds": i.holds, "detail": i.detail} for i in r.invariants],
        "checkers": {v.checker: v.valid for v in r.verdicts},
        "report": str(r.report) if r.report else None,
        "verdict": "pass" if r.ok else "fail",
    }


__all__ = ["Endpoints", "RunConfig", "RunError", "RunResult", "run"]
