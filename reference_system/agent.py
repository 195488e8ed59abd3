"""Run one agent of the reference system as its own process.

    python -m reference_system.agent worker --agent worker-1 --resources R --history H
    python -m reference_system.agent supervisor --requests 20 --progress P --summary S --resources R --history H
    python -m reference_system.agent supervisor --intake QUEUE_URL --resources R --history H

A supervisor given ``--requests`` submits that many requests and exits once
they are all terminal; given ``--intake`` it serves: it takes requests
(``BriefRequest`` messages) from that SQS queue until it is stopped.

The backend's endpoints come from the ``HARNESS_ENDPOINTS`` environment
variable (JSON, see ``harness.backends.Endpoints``). Faults come from
``--plan FILE`` (fixed for the process's life) or ``--plan-dir DIR`` (plans
applied and cleared while it runs, see ``harness.run.live_plans``). SIGTERM
stops an agent between two steps, so its history file always ends on a
complete line; with ``--exit-with-parent`` it also stops when the process that
started it is gone.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
from harness.backends.endpoints import Endpoints
from harness.faults import FaultInjector, FaultPlan, FaultyModel
from harness.history.recorder import Recorder, wall_clock
from reference_system import bus
from reference_system.audit_loop import AuditLoop
from reference_system.llm import ScriptedModel
from reference_system.messages import BriefRequest
from reference_system.resources import CAPABILITIES, Resources
from reference_system.runner import RunTimeout, drive, retry
from reference_system.supervisor import Supervisor
from reference_system.worker_loop import WorkerLoop
from reference_system.workers import DEFAULT_WORKERS, load_worker
from reference_system.workload import requests

_stop = False


def _on_term(signum: int, frame: object) -> None:
    global _stop
    _stop = True


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agent", required=True)
    p.add_argument("--resources", required=True, type=Path)
    p.add_argument("--history", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-ns", type=int, default=None, help="run start on the system clock")
    p.add_argument("--plan", type=Path, default=None, help="fault plan (JSON) to inject")
    p.add_argument(
        "--plan-dir",
        type=Path,
        default=None,
        help="inject the plans in this directory, re-read as they change",
    )
    p.add_argument(
        "--skip-crash", action="store_true", help="ignore the plan's crash faults (after a restart)"
    )
    p.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the process that started this one is gone"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="reference_system.agent")
    sub = ap.add_subparsers(dest="role", required=True)
    w = sub.add_parser("worker")
    _common(w)
    w.add_argument("--capabilities", default=",".join(CAPABILITIES))
    w.add_argument(
        "--worker",
        action="append",
        default=[],
        metavar="CAP=pkg.module:Class",
        help="the implementation for a capability: a Worker, or a WorkerLoop subclass (which then "
        "serves the capability with its default worker)",
    )
    s = sub.add_parser("supervisor")
    _common(s)
    s.add_argument("--requests", type=int, default=20)
    s.add_argument("--progress", type=Path, default=None)
    s.add_argument("--summary", type=Path, default=None)
    s.add_argument("--timeout", type=float, default=600.0)
    s.add_argument("--intake", default=None, metavar="QUEUE_URL", help="serve requests from this queue")
    s.add_argument(
        "--sweep-interval",
        type=float,
        default=None,
        help="seconds between looks at every open task when idle (default: the supervisor's)",
    )
    s.add_argument(
        "--reads",
        choices=("consistent", "eventual"),
        default="consistent",
        help="how the supervisor reads its task table (eventual: no cache, eventually consistent reads)",
    )
    args = ap.parse_args(argv)
    if args.role == "supervisor" and args.intake is None and (args.progress is None or args.summary is None):
        ap.error("supervisor: --progress and --summary are required without --intake")

    signal.signal(signal.SIGTERM, _on_term)
    endpoints = Endpoints.from_json(os.environ["HARNESS_ENDPOINTS"])
    res = Resources.from_json(args.resources.read_text())
    rec = Recorder(args.history, clock=wall_clock(args.start_ns), keep=False)
    injector = _injector(args, rec)
    model = FaultyModel(ScriptedModel(seed=args.seed), injector, args.agent)
    agents = _Agents(endpoints, rec, injector)
    stopping: Callable[[], bool] = lambda: _stop  # noqa: E731
    if args.exit_with_parent:
        parent = _parent_pid()
        stopping = lambda: _stop or os.getppid() != parent  # noqa: E731
    try:
        if args.role == "worker":
            return _worker(args, agents, res, model, stopping)
        if args.intake:
            return _serve(args, agents, res, model, stopping)
        return _supervisor(args, agents, res, model, stopping)
    finally:
        rec.close()


def _parent_pid() -> int:
    """The process that started this one. The spawner names itself in
    ``HARNESS_PARENT_PID``: if it died before this runs, it is gone already."""
    try:
        return int(os.environ["HARNESS_PARENT_PID"])
    except (KeyError, ValueError):
        return os.getppid()


def _crash(agent: str) -> None:
    # The fault is already on disk (the recorder writes unbuffered): die for real.
    os.kill(os.getpid(), signal.SIGKILL)


def _injector(args: argparse.Namespace, rec: Recorder) -> Any:
    if args.plan_dir is not None:
        from harness.run.live_plans import LivePlans

        return LivePlans(args.plan_dir, rec, on_crash=_crash, skip_crash=args.skip_crash)
    plan = FaultPlan.load(args.plan) if args.plan else FaultPlan(seed=args.seed)
    if args.skip_crash:
        plan = plan.model_copy(update={"faults": [f for f in plan.faults if f.kind != "crash"]})
    start_ns = args.start_ns or time.time_ns()
    return FaultInjector(plan, rec, clock=lambda: (time.time_ns() - start_ns) / 1e9, on_crash=_crash)


class _Agents:
    """Makes this process's sessions (with the fault injector) and wraps its agents."""

    def __init__(self, endpoints: Endpoints, rec: Recorder, injector: Any) -> None:
        self.endpoints, self.rec, self.injector = endpoints, rec, injector

    def session(self, agent: str) -> Any:
        s = harness.session(self.endpoints, agent, self.rec)
        self.injector.install(s)
        return s

    def faulted(self, agent: Any, name: str) -> Any:
        return _Faulted(agent, name, self.injector)


class _Faulted:
    """Asks the injector before each step: it may crash the process or pause it."""

    def __init__(self, agent: Any, name: str, injector: Any) -> None:
        self.agent, self.name, self.injector = agent, name, injector

    def step(self) -> bool:
        pause = self.injector.on_step(self.name)
        if pause:
            time.sleep(pause)
        return bool(self.agent.step())


def _implementations(specs: list[str]) -> tuple[dict[str, Any], dict[str, type[WorkerLoop]]]:
    """Workers per capability, and any WorkerLoop subclass named instead of a worker."""
    impls: dict[str, Any] = {cap: DEFAULT_WORKERS[cap]() for cap in CAPABILITIES}
    loops: dict[str, type[WorkerLoop]] = {}
    for spec in specs:
        cap, _, path = spec.partition("=")
        mod_name, _, attr = path.partition(":")
        obj = getattr(importlib.import_module(mod_name), attr, None) if attr else None
        if isinstance(obj, type) and issubclass(obj, WorkerLoop):
            loops[cap] = obj
        else:
            impls[cap] = load_worker(path)
    return impls, loops


def _worker(
    args: argparse.Namespace, agents: _Agents, res: Resources, model: Any, stopping: Callable[[], bool]
) -> int:
    impls, loop_classes = _implementations(args.worker)
    caps = [c for c in args.capabilities.split(",") if c]
    # One queue: long-poll it. Several: poll each in turn and nap when all are empty.
    wait = 1 if len(caps) == 1 else 0
    loops = [
        agents.faulted(
            loop_classes.get(c, WorkerLoop)(
                impls[c], agents.session(args.agent), res, model, agent=args.agent, wait_seconds=wait
            ),
            args.agent,
        )
        for c in caps
    ]
    drive(loops, stopping, timeout=float("inf"), idle_sleep=0.05)
    return 0


class _Intake:
    """Takes requests off the intake queue and submits them (idempotently).

    A submit that fails half-way may have created the task without queueing
    it for dispatch (and a repeated submit finds it exists), so after a failed
    submit the supervisor adopts unfinished tasks from the table, as after a
    restart."""

    def __init__(self, sup: Supervisor, session: Any, queue_url: str) -> None:
        self.sup, self.queue_url = sup, queue_url
        self.sqs = session.client("sqs")
        self._adopt = False

    def step(self) -> bool:
        if self._adopt:
            self.sup.recover()
            self._adopt = False
        msgs = bus.receive(self.sqs, self.queue_url, 10, 0)
        for raw in msgs:
            try:
                req = bus.parse(raw, BriefRequest)
            except bus.BadMessage as e:
                self.sup.effects.note(
                    "supervisor.reject", None, {"reason": str(e)}, failed=True, error="BadMessage"
                )
            else:
                try:
                    self.sup.submit(req)
                except Exception:
                    self._adopt = True  # the message stays: it is received again
                    raise
            bus.delete(self.sqs, self.queue_url, raw)
        return bool(msgs)


def _make_supervisor(args: argparse.Namespace, agents: _Agents, res: Resources, model: Any) -> Supervisor:
    kw = {} if args.sweep_interval is None else {"sweep_interval": args.sweep_interval}
    sup = Supervisor(agents.session(args.agent), res, model, agent=args.agent, wait_seconds=1, **kw)
    if args.reads == "eventual":
        # Every read goes to the table, eventually consistent: the cheapest
        # configuration, and the one where a stale read can do harm.
        from reference_system.store import VersionedStore

        sup.store = VersionedStore(sup.ddb, res.tasks_table, sup.effects, consistent=False, cache=False)
    return sup


def _serve(
    args: argparse.Namespace, agents: _Agents, res: Resources, model: Any, stopping: Callable[[], bool]
) -> int:
    sup = _make_supervisor(args, agents, res, model)
    # The supervisor long-polls its results; requests must not wait behind that.
    sup.wait_seconds = 0
    audit = AuditLoop(agents.session("auditor"), res)
    intake = _Intake(sup, agents.session(args.agent), args.intake)
    retry(sup.recover)  # adopt whatever an earlier incarnation left unfinished
    drive([intake, agents.faulted(sup, args.agent), audit], stopping, timeout=float("inf"), idle_sleep=0.02)
    return 0


def _supervisor(
    args: argparse.Namespace, agents: _Agents, res: Resources, model: Any, stopping: Callable[[], bool]
) -> int:
    sup = _make_supervisor(args, agents, res, model)
    audit = AuditLoop(agents.session("auditor"), res)
    reqs = requests(args.requests, seed=args.seed)
    for r in reqs:  # idempotent: a restarted supervisor submits again harmlessly
        retry(lambda r=r: sup.submit(r))
    sup.recover()  # adopt whatever an earlier incarnation left unfinished
    last = 0.0

    def progress() -> bool:
        nonlocal last
        now = time.monotonic()
        if now - last > 0.2 or sup.finished:
            last = now
            _write_json(args.progress, {"submitted": len(reqs), "finished": len(reqs) - len(sup.open_tasks)})
        return sup.finished or stopping()

    timed_out = False
    try:
        drive([agents.faulted(sup, args.agent), audit], progress, timeout=args.timeout, idle_sleep=0.01)
    except RunTimeout:
        timed_out = True
    # Drain the fan-out so the audit tally is complete.
    deadline = time.monotonic() + 5
    while audit.step() and time.monotonic() < deadline:
        pass
    _write_json(
        args.summary,
        {
            "submitted": len(reqs),
            "requests": [r.request_id for r in reqs],
            "open": sorted(sup.open_tasks),
            "timed_out": timed_out,
            "audit_events": dict(audit.events),
        },
    )
    return 0


def _write_json(path: Path, obj: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj))
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
