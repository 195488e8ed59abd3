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

import harness
from harness.backends.endpoints import Endpoints
from harness.history.recorder import Recorder, wall_clock
from reference_system.audit_loop import AuditLoop
from reference_system.llm import ScriptedModel
from reference_system.resources import CAPABILITIES, Resources
from reference_system.runner import RunTimeout, drive
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
    model = ScriptedModel(seed=args.seed)
    try:
        if args.role == "worker":
            return _worker(args, endpoints, res, rec, model)
        return _supervisor(args, endpoints, res, rec, model)
    finally:
        rec.close()


def _worker(
    args: argparse.Namespace, ep: Endpoints, res: Resources, rec: Recorder, model: ScriptedModel
) -> int:
    impls = {cap: DEFAULT_WORKERS[cap]() for cap in CAPABILITIES}
    for spec in args.worker:
        cap, _, path = spec.partition("=")
        impls[cap] = load_worker(path)
    caps = [c for c in args.capabilities.split(",") if c]
    # One queue: long-poll it. Several: poll each in turn and nap when all are empty.
    wait = 1 if len(caps) == 1 else 0
    loops = [
        WorkerLoop(
            impls[c], harness.session(ep, args.agent, rec), res, model, agent=args.agent, wait_seconds=wait
        )
        for c in caps
    ]
    drive(loops, lambda: _stop, timeout=float("inf"), idle_sleep=0.05)
    return 0


def _supervisor(
    args: argparse.Namespace, ep: Endpoints, res: Resources, rec: Recorder, model: ScriptedModel
) -> int:
    sup = Supervisor(harness.session(ep, args.agent, rec), res, model, agent=args.agent, wait_seconds=1)
    audit = AuditLoop(harness.session(ep, "auditor", rec), res)
    reqs = requests(args.requests, seed=args.seed)
    for r in reqs:
        sup.submit(r)
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
        drive([sup, audit], progress, timeout=args.timeout, idle_sleep=0.01)
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
