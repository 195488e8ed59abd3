"""The main job: run the system under test (the reference system by
default), record it, check it, summarise it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import settings
from harness.backends import Endpoints, embedded
from harness.faults.plan import FaultPlan
from harness.history.jsonl import iter_history, merge_files
from harness.history.model import FAIL, INFO, OK
from harness.history.recorder import Recorder, wall_clock
from harness.instrument.session import plain_session, session
from harness.run import processes
from harness.run.invariants import Invariant, all_terminal, no_double_effects
from harness.system import System, load_system

#: The operations a runner records for each request it submitted (key = task
#: id): its submission, and its state when the run ended.
TASK_SUBMIT, TASK_STATE = "task.submit", "task.state"

Progress = Callable[[int, int], None]


class RunError(RuntimeError):
    """A run that could not be carried out (bad input, backend trouble)."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM, once what it recorded is saved:
    the parts merged into ``history`` (``operations`` of them; ``cut_lines``
    last lines cut short), the summary marked ``interrupted``."""

    def __init__(
        self, signum: int, out: Path, history: Path | None, operations: int, cut_lines: int = 0
    ) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.out, self.history = signum, out, history
        self.operations, self.cut_lines = operations, cut_lines

    @property
    def exit_code(self) -> int:
        """128 + the signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


class _Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class RunConfig:
    backend: str = "embedded"
    requests: int = 20
    #: Worker agents: processes sharing the capabilities (None: 3); in the
    #: simulator, agents per capability as :attr:`harness.sim.case.Case.workers` (None: 1).
    workers: int | None = None
    seed: int = 1
    out: Path | None = None
    timeout: float = 600.0
    prefix: str = "mas"
    plan: FaultPlan | None = None
    sim: bool = False
    #: The system under test (``pkg.module:obj``; None: the reference system).
    system: str | None = None
    #: Its options (``--option KEY=VALUE``; ``--worker`` sets ``impls``).
    options: dict[str, Any] = field(default_factory=dict)
    #: Supervisor replicas, for a system with a ``supervisors`` option.
    supervisors: int = 1
    #: The queues' visibility timeout in seconds (None: 30).
    visibility_timeout: int | None = None
    #: The simulator's limit on virtual time (None: an hour).
    max_virtual_seconds: float | None = None

    def validate(self) -> None:
        """A :class:`RunError` (one line) for anything the run cannot do,
        checked before it starts: ranges, scales the system lacks, and
        workers (``impls``) that cannot be imported or are not Workers."""
        if self.backend not in ("embedded", "localstack"):
            raise RunError(f"unknown backend {self.backend!r}: available: embedded, localstack")
        if self.sim and self.backend != "embedded":
            raise RunError("--sim runs on the embedded backend only")
        if self.requests < 0:
            raise RunError("--requests must be zero or more")
        if self.workers is not None and self.workers < 1:
            raise RunError("--workers must be at least 1")
        if self.supervisors < 1:
            raise RunError("--supervisors must be at least 1")
        if self.visibility_timeout is not None and not 0 <= self.visibility_timeout <= 43200:
            raise RunError("--visibility-timeout must be from 0 to 43200 seconds")
        if self.max_virtual_seconds is not None:
            if not self.sim:
                raise RunError("--max-virtual-seconds needs --sim")
            if not self.max_virtual_seconds > 0:
                raise RunError("--max-virtual-seconds must be positive")
        if not 0 < self.timeout < float("inf"):
            raise RunError("--timeout must be a positive number of seconds")
        self._validate_for(load_system(self.system))

    def _validate_for(self, system: System) -> None:
        from harness.system import SystemError_, check_impls

        if self.supervisors != 1 and "supervisors" not in system.options:
            raise RunError(f"--supervisors: system {system.name} has no 'supervisors' option")
        if self.sim and (self.workers or 1) != 1 and "workers" not in system.options:
            raise RunError(f"--workers: system {system.name} has no 'workers' option")
        if "impls" in self.options:
            if "impls" not in system.options:
                raise RunError(f"system {system.name} has no workers to swap (no 'impls' option)")
            if not isinstance(self.options["impls"], dict):
                raise RunError('--option impls must be a JSON object, {"capability": "pkg.module:Class"}')
            try:
                check_impls(self.options["impls"])
            except SystemError_ as e:
                raise RunError(f"worker {e}") from None


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
    """Run the system under test (as processes on the server-mode embedded
    backend, or in the deterministic simulator) and check what it did."""
    cfg.validate()
    system = load_system(cfg.system)
    out = cfg.out or default_out(cfg.seed, cfg.sim)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".writable"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise RunError(f"--out {out}: {e.strerror or e}") from None
    if cfg.plan is not None:
        cfg.plan.dump(out / "plan.json")
    with _terminate_as_exception():
        try:
            result = _run_sim(cfg, out) if cfg.sim else _run_processes(cfg, out, progress)
            _raise_if_interrupted()
            _check_and_report(result, system)
            _raise_if_interrupted()
        except (KeyboardInterrupt, _Terminated) as e:
            signum = e.signum if isinstance(e, _Terminated) else signal.SIGINT
            raise _salvage(out, signum) from None
    (out / "summary.json").write_text(json.dumps(_summary_json(result), indent=2))
    return result


#: The signal that interrupted the run. The handler raises at once, but an
#: exception raised while Python runs a finalizer, a ``__del__`` or a
#: generator's clean-up is dropped; the run's loops look here too.
_PENDING: list[int] = []


def _raise_if_interrupted() -> None:
    """Unwind the run if a signal interrupted it (see :data:`_PENDING`)."""
    if _PENDING:
        if _PENDING[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise _Terminated(_PENDING[0])


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """SIGTERM unwinds the run like Ctrl-C does (agents stopped, backend
    closed), so what it recorded can be saved; the first signal only. Only
    where signals can be handled (the main thread)."""

    def on_signal(signum: int, frame: Any) -> None:
        # Once: the clean-up that follows (agents stopped, parts merged) is not cut short by another.
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        _PENDING.append(signum)
        _raise_if_interrupted()

    def unraisable(u: Any) -> None:
        # Raised where Python drops exceptions (a finalizer, a generator closed by
        # the collector): not printed; the run's loop unwinds on _PENDING instead.
        if _PENDING and isinstance(u.exc_value, (KeyboardInterrupt, _Terminated)):
            return
        previous_hook(u)

    _PENDING.clear()
    try:
        before = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for s, h in before.items():
            signal.signal(s, h)


def _salvage(out: Path, signum: int) -> RunInterrupted:
    """Merge what an interrupted run recorded, write its summary (marked
    ``interrupted``) and, if it can, its report; a second signal meanwhile
    is ignored."""
    from harness.history.salvage import merge_parts, parts_of

    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        history, n, cut = None, 0, 0
        if parts_of(out):
            merged = merge_parts(out)
            history, n, cut = merged.path, merged.operations, merged.cut_lines
        summary = {
            "verdict": "interrupted",
            "interrupted": signal.Signals(signum).name,
            "operations": n,
            "cut_lines": cut,
            "history": str(history) if history else None,
        }
        if history is not None:
            try:
                from harness.report import build_report

                summary["report"] = str(build_report(history, out / "report.html"))
            except Exception as e:  # a partial history is still saved; its report is a bonus
                summary["report_error"] = f"{type(e).__name__}: {e}"
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        return RunInterrupted(signum, out, history, n, cut)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _check_and_report(result: RunResult, system: System) -> None:
    """Audit the outputs (findings join the history), run every checker, and
    write report.html beside the history."""
    from harness.audit import audit_file
    from harness.history.jsonl import read_history
    from harness.report import build_report, run_checkers

    audit_file(result.history)
    ops, verdicts = run_checkers(read_history(result.history), specs=system.checker_specs())
    result.operations = len(ops)
    result.verdicts = verdicts
    result.report = build_report(result.history, result.out / "report.html", verdicts=verdicts)


def _run_sim(cfg: RunConfig, out: Path) -> RunResult:
    from harness.sim import default_scenario, simulate

    sc = default_scenario(cfg.seed, cfg.requests, cfg.plan if cfg.plan is not None else None)
    sc.system, sc.options = cfg.system, dict(cfg.options)
    sc.workers, sc.supervisors = cfg.workers or 1, cfg.supervisors
    if cfg.visibility_timeout is not None:
        sc.visibility_timeout = cfg.visibility_timeout
    if cfg.max_virtual_seconds is not None:
        sc.max_virtual_seconds = cfg.max_virtual_seconds
    r = simulate(sc)
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
        system=load_system(cfg.system),
        faults=r.faults_injected,
        extra={
            "virtual_seconds": round(r.virtual_seconds, 3),
            "steps": r.steps,
            "replay": _sim_replay(cfg, out),
        },
    )


def _sim_replay(cfg: RunConfig, out: Path) -> str:
    """The ``harness run --sim`` command that gives the same history again."""
    import shlex

    flags = [
        ("--workers", cfg.workers),
        ("--supervisors", cfg.supervisors if cfg.supervisors != 1 else None),
        ("--visibility-timeout", cfg.visibility_timeout),
        (
            "--max-virtual-seconds",
            None if cfg.max_virtual_seconds is None else f"{cfg.max_virtual_seconds:g}",
        ),
        ("--system", cfg.system),
    ]
    return (
        f"harness run --sim --seed {cfg.seed} --requests {cfg.requests}"
        + "".join(f" {flag} {shlex.quote(str(v))}" for flag, v in flags if v is not None)
        + "".join(f" --option {shlex.quote(f'{k}={json.dumps(v)}')}" for k, v in sorted(cfg.options.items()))
        + (f" --plan {shlex.quote(str(out / 'plan.json'))}" if cfg.plan else "")
    )


@dataclass
class _Proc:
    args: list[str]
    log: Path
    popen: subprocess.Popen[bytes]


def process_options(system: System, workers: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The system's options for a run of agents as processes: ``workers``
    worker processes where the system can group its workers
    (``worker_processes``), else ``workers`` per role; long polls where it
    has them (``wait_seconds``)."""
    known = system.options
    out: dict[str, Any] = {}
    if "worker_processes" in known:
        out["worker_processes"] = workers
    elif "workers" in known:
        out["workers"] = workers
    if "wait_seconds" in known:
        out["wait_seconds"] = 1
    return system.merged({**out, **(extra or {})})


def _run_processes(cfg: RunConfig, out: Path, progress: Progress | None) -> RunResult:
    from harness.system import TRANSIENT, retry

    system = load_system(cfg.system)
    scale = {"supervisors": cfg.supervisors} if cfg.supervisors != 1 else {}
    options = process_options(system, cfg.workers or 3, {**scale, **cfg.options})
    parts = out / "parts"
    if any(parts.glob("history.*.jsonl")):
        raise RunError(f"{out} already holds a run's history: choose another --out")
    parts.mkdir(parents=True, exist_ok=True)
    start_ns = time.time_ns()
    t0 = time.monotonic()
    clock = wall_clock(start_ns)
    sm = system.declarations.state_machine
    terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})

    with _backend(cfg) as ep:
        with Recorder(parts / "history.deploy.jsonl", clock=clock, keep=False) as rec:
            vt = 30 if cfg.visibility_timeout is None else cfg.visibility_timeout
            res = system.deploy(session(ep, "deploy", rec), cfg.prefix, visibility_timeout=vt)
        (out / "resources.json").write_text(system.dump_resources(res))
        common = [
            "--options",
            json.dumps(options, sort_keys=True),
            "--resources",
            str(out / "resources.json"),
            "--seed",
            str(cfg.seed),
            "--start-ns",
            str(start_ns),
            "--exit-with-parent",  # a killed `harness run` leaves no agent behind
        ]
        if system.spec:
            common += ["--system", system.spec]
        if cfg.plan is not None:
            common += ["--plan", str(out / "plan.json")]

        def start(name: str) -> _Proc:
            args = ["--agent", name, "--history", str(parts / f"history.{name}.jsonl"), *common]
            log = parts / f"{name}.log"
            return _Proc(args, log, processes.spawn(args, ep, log))

        procs = {a.name: start(a.name) for a in system.agent_specs(res, options)}
        restarts = 0
        admin = plain_session(ep)
        wl = system.workload
        reqs = wl.requests(cfg.requests, cfg.seed)
        ids = [wl.request_id(r) for r in reqs]
        try:
            with Recorder(parts / "history.client.jsonl", clock=clock, keep=False) as client_rec:
                client = session(ep, "client", client_rec)
                for r, tid in zip(reqs, ids, strict=True):
                    try:
                        retry(lambda r=r: wl.submit(client, res, r))
                    except TRANSIENT as e:
                        client_rec.record("client", FAIL, TASK_SUBMIT, tid, {"error": str(e)}, agent="client")
                        continue
                    client_rec.record("client", OK, TASK_SUBMIT, tid, None, agent="client")
            deadline = time.monotonic() + cfg.timeout
            next_look = 0.0
            while time.monotonic() < deadline:
                _raise_if_interrupted()
                for name, p in procs.items():
                    code = p.popen.poll()
                    if code is None:
                        continue
                    if not _crashed(code):
                        raise RunError(f"{name} exited with {code}: {_last_line(p.log)}")
                    # Killed by a crash fault: bring it back, as a process manager would.
                    restarts += 1
                    p.popen = processes.spawn([*p.args, "--skip-crash"], ep, p.log)
                if time.monotonic() >= next_look:
                    next_look = time.monotonic() + 0.5
                    states = _states(system, admin, res)
                    finished = sum(1 for t in ids if states.get(t) in terminal)
                    if progress is not None:
                        progress(finished, len(ids))
                    if finished == len(ids):
                        break
                time.sleep(0.1)
        finally:
            processes.stop([p.popen for p in procs.values()])
        states = dict(system.task_states(admin, res))
        # Each task's final state, for checkers reading the history alone (liveness).
        with Recorder(parts / "history.final.jsonl", clock=clock, keep=False) as final:
            for tid in ids:
                final.record("client", INFO, TASK_STATE, tid, {"state": states.get(tid)}, agent="client")
    history = out / "history.jsonl"
    n_ops = merge_files(sorted(parts.glob("history.*.jsonl")), history)
    faults = sum(1 for op in iter_history(history) if op.f.startswith("fault."))
    invariants = [all_terminal(ids, states, terminal), no_double_effects(iter_history(history))]
    return _result(
        out,
        history,
        ids,
        states,
        n_ops,
        time.monotonic() - t0,
        {},
        invariants,
        system=system,
        faults=faults,
        restarts=restarts,
    )


def _states(system: System, admin: Any, res: Any) -> dict[str, str]:
    from harness.system import TRANSIENT

    try:
        return dict(system.task_states(admin, res))
    except TRANSIENT:
        return {}


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"


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
    *,
    system: System,
    **kw: Any,
) -> RunResult:
    """Requests completed (a success state the system declares, else ``done``),
    failed (any other terminal state) and unfinished."""
    sm = system.declarations.state_machine
    terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})
    success = (sm.success if sm is not None and sm.success else None) or frozenset({"done"})
    ended = [r for r in requests if states.get(r) in terminal]
    return RunResult(
        out=out,
        history=history,
        submitted=len(requests),
        completed=sum(1 for r in ended if states.get(r) in success),
        failed=sum(1 for r in ended if states.get(r) not in success),
        unfinished=sorted(r for r in requests if states.get(r) not in terminal),
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


__all__ = ["Endpoints", "RunConfig", "RunError", "RunInterrupted", "RunResult", "run"]
