"""Run one agent of the reference system as its own process.

    python -m reference_system.agent worker --agent worker-1 --resources R --history H
    python -m reference_system.agent supervisor --requests 20 --resources R --history H

The backend's endpoints come from the ``HARNESS_ENDPOINTS`` environment
variable (JSON, see ``harness.backends.Endpoints``). SIGTERM stops an agent
between two steps, so its history file always ends on a complete line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness.backends.endpoints import Endpoints
from harness.faults import FaultInjector, FaultPlan, FaultyModel
from harness.history.recorder import Recorder, wall_clock
from reference_system.audit_loop import AuditLoop
from reference_system.llm import ScriptedModel
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
        "--skip-crash", action="store_true", help="ignore the plan's crash faults (after a restart)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="reference_system.agent")
    sub = ap.add_subparsers(dest="role", required=True)
    w = sub.add_parser("worker")
    _common(w)
    w.add_argument("--capabilities", default=",".join(CAPABILITIES))
    w.add_argument("--worker", action="append", default=[], metavar="CAP=pkg.module:Class")
    s = sub.add_parser("supervisor")
    _common(s)
    s.add_argument("--requests", type=int, default=20)
    s.add_argument("--progress", type=Path, required=True)
    s.add_argument("--summary", type=Path, required=True)
    s.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_term)
    endpoints = Endpoints.from_json(os.environ["HARNESS_ENDPOINTS"])
    res = Resources.from_json(args.resources.read_text())
    rec = Recorder(args.history, clock=wall_clock(args.start_ns), keep=False)
    injector = _injector(args, rec)
    model = FaultyModel(ScriptedModel(seed=args.seed), injector, args.agent)
    agents = _Agents(endpoints, rec, injector)
    try:
        if args.role == "worker":
            return _worker(args, agents, res, model)
        return _supervisor(args, agents, res, model)
    finally:
        rec.close()


def _injector(args: argparse.Namespace, rec: Recorder) -> FaultInjector:
    plan = FaultPlan.load(args.plan) if args.plan else FaultPlan(seed=args.seed)
    if args.skip_crash:
        plan = plan.model_copy(update={"faults": [f for f in plan.faults if f.kind != "crash"]})
    start_ns = args.start_ns or time.time_ns()

    def crash(agent: str) -> None:
        # The fault is already on disk (the recorder writes unbuffered): die for real.
        os.kill(os.getpid(), signal.SIGKILL)

    return FaultInjector(plan, rec, clock=lambda: (time.time_ns() - start_ns) / 1e9, on_crash=crash)


class _Agents:
    """Makes this process's sessions (with the fault injector) and wraps its agents."""

    def __init__(self, endpoints: Endpoints, rec: Recorder, injector: FaultInjector) -> None:
        self.endpoints, self.rec, self.injector = endpoints, rec, injector

    def session(self, agent: str) -> Any:
        s = harness.session(self.endpoints, agent, self.rec)
        self.injector.install(s)
        return s

    def faulted(self, agent: Any, name: str) -> Any:
        return _Faulted(agent, name, self.injector)


class _Faulted:
    """Asks the injector before each step: it may crash the process or pause it."""

    def __init__(self, agent: Any, name: str, injector: FaultInjector) -> None:
        self.agent, self.name, self.injector = agent, name, injector

    def step(self) -> bool:
        pause = self.injector.on_step(self.name)
        if pause:
            time.sleep(pause)
        return bool(self.agent.step())


def _worker(args: argparse.Namespace, agents: _Agents, res: Resources, model: Any) -> int:
    impls = {cap: DEFAULT_WORKERS[cap]() for cap in CAPABILITIES}
    for spec in args.worker:
        cap, _, path = spec.partition("=")
        impls[cap] = load_worker(path)
    caps = [c for c in args.capabilities.split(",") if c]
    # One queue: long-poll it. Several: poll each in turn and nap when all are empty.
    wait = 1 if len(caps) == 1 else 0
    loops = [
        agents.faulted(
            WorkerLoop(impls[c], agents.session(args.agent), res, model, agent=args.agent, wait_seconds=wait),
            args.agent,
        )
        for c in caps
    ]
    drive(loops, lambda: _stop, timeout=float("inf"), idle_sleep=0.05)
    return 0


def _supervisor(args: argparse.Namespace, agents: _Agents, res: Resources, model: Any) -> int:
    sup = Supervisor(agents.session(args.agent), res, model, agent=args.agent, wait_seconds=1)
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
        return sup.finished or _stop

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
