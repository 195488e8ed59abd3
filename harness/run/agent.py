"""One agent of any system under test, as a process of its own.

    python -m harness.run.agent --system pkg.module:system --agent NAME \\
        --resources FILE --history FILE [--options JSON] [--plan FILE | --plan-dir DIR]

The system (default: the reference system) names its agents; this process
builds the one called NAME from an instrumented session on the backend whose
endpoints are in ``HARNESS_ENDPOINTS`` (JSON, see
``harness.backends.Endpoints``), and steps it until it is stopped. Faults come
from ``--plan FILE`` (fixed for the process's life) or ``--plan-dir DIR``
(plans applied and cleared while it runs, see ``harness.run.live_plans``); a
crash fault kills the process for real. SIGTERM stops it between two steps,
so its history file always ends on a complete line; with
``--exit-with-parent`` it also stops when the process that started it is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
from harness.backends.aws import check_account
from harness.backends.embedded import BackendError
from harness.backends.endpoints import Endpoints
from harness.faults import FaultInjector, FaultPlan, FaultyModel
from harness.history.recorder import Recorder, wall_clock
from harness.system import AgentEnv, System, load_system, step_safely

_stop = False


def _on_term(signum: int, frame: object) -> None:
    global _stop
    _stop = True


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness.run.agent")
    p.add_argument("--system", default=None, help="pkg.module:obj (default: the reference system)")
    p.add_argument("--agent", required=True)
    p.add_argument("--resources", required=True, type=Path)
    p.add_argument("--history", required=True, type=Path)
    p.add_argument("--options", default="{}", help="the system's options (JSON)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-ns", type=int, default=None, help="run start on the system clock")
    p.add_argument("--plan", type=Path, default=None, help="fault plan (JSON) to inject")
    p.add_argument(
        "--plan-dir", type=Path, default=None, help="inject the plans here, re-read as they change"
    )
    p.add_argument(
        "--skip-crash", action="store_true", help="ignore the plan's crash faults (after a restart)"
    )
    p.add_argument(
        "--idle-sleep",
        type=float,
        default=0.02,
        help="seconds to nap when a step found nothing (doubling while it stays idle, up to 0.25)",
    )
    p.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the process that started this one is gone"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    system = load_system(args.system)
    options = system.merged(json.loads(args.options))
    endpoints = Endpoints.from_json(os.environ["HARNESS_ENDPOINTS"])
    try:
        # Real credentials: this process checks the account itself, before its first call.
        check_account(endpoints)
    except BackendError as e:
        print(f"harness.run.agent: {e}", file=sys.stderr)
        return 2
    res = system.load_resources(args.resources.read_text())
    spec = next((a for a in system.agent_specs(res, options) if a.name == args.agent), None)
    if spec is None:
        names = ", ".join(a.name for a in system.agent_specs(res, options))
        print(
            f"harness.run.agent: system {system.name} has no agent {args.agent!r}: {names}", file=sys.stderr
        )
        return 2
    rec = Recorder(args.history, clock=wall_clock(args.start_ns), keep=False)
    injector = _injector(args, rec)
    stopping: Callable[[], bool] = lambda: _stop  # noqa: E731
    if args.exit_with_parent:
        parent = _parent_pid()
        stopping = lambda: _stop or os.getppid() != parent  # noqa: E731
    try:
        agent = spec.make(_env(system, args, endpoints, rec, injector, res, options))
        _serve(_Faulted(agent, args.agent, injector), stopping, args.idle_sleep)
        return 0
    finally:
        rec.close()


#: The longest nap of an idle agent: an agent without long polls (a
#: consumer polling with no wait) must not hammer the backend.
MAX_IDLE_SLEEP = 0.25


def _serve(agent: Any, stopping: Callable[[], bool], idle_sleep: float) -> None:
    """Step until stopped; transient AWS errors are retried on the next turn,
    and an idle agent naps longer each turn it finds nothing (up to
    :data:`MAX_IDLE_SLEEP`), as its poll would back off."""
    nap = idle_sleep
    while not stopping():
        if step_safely(agent):
            nap = idle_sleep
            continue
        time.sleep(nap)
        nap = min(nap * 2, max(idle_sleep, MAX_IDLE_SLEEP))


def _env(
    system: System,
    args: argparse.Namespace,
    endpoints: Endpoints,
    rec: Recorder,
    injector: Any,
    res: Any,
    options: dict[str, Any],
) -> AgentEnv:
    name = args.agent
    s = harness.session(endpoints, name, rec, versioned=system.declarations.versioned or None)
    injector.install(s)
    model = system.model(args.seed) if system.model is not None else None
    skew = getattr(injector, "clock_skew", None) or (lambda agent: 0.0)
    return AgentEnv(
        name=name,
        session=s,
        resources=res,
        model=FaultyModel(model, injector, name) if model is not None else None,
        clock=lambda: time.monotonic() + skew(name),
        ids=lambda: uuid.uuid4().hex,
        seed=args.seed,
        options=options,
    )


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


class _Faulted:
    """Asks the injector before each step: it may crash the process or pause it."""

    def __init__(self, agent: Any, name: str, injector: Any) -> None:
        self.agent, self.name, self.injector = agent, name, injector

    def step(self) -> bool:
        pause = self.injector.on_step(self.name)
        if pause:
            time.sleep(pause)
        return bool(self.agent.step())


if __name__ == "__main__":
    sys.exit(main())
