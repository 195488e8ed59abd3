"""Where one example's time goes, fresh and from a fork server.

An example of the property suite is one single-request case: simulated,
then checked. Fresh, :func:`harness.sim.simulate` starts in-process moto
and deploys the system (set-up), builds the agents, runs, and tears it all
down; the checkers follow. From a fork server
(:mod:`harness.sim.forkserver`) the set-up was paid once, before the first
example, and the child that runs the case is not torn down: what is left is
the fork, the agents, the run, and sending the result back.

Repetitions alternate fresh and forked examples of the same cases, so both
see the same machine; each pair must give the same history (byte for byte).
"""

from __future__ import annotations

import hashlib
import time
from contextlib import ExitStack
from typing import Any

from benchmarks.result import BenchResult
from benchmarks.stats import alternating, ratio
from harness.history.jsonl import dumps_op
from harness.sim import forkserver
from harness.sim.case import Case
from harness.sim.checks import DEFAULT_CHECKERS, check_run
from harness.sim.clock import VirtualClock
from harness.sim.simulation import Simulation, deploy

PHASES = ("set-up", "agents", "run", "checkers", "tear-down")


def _digest(ops: list[Any]) -> str:
    return hashlib.sha256(b"".join(dumps_op(op) for op in ops)).hexdigest()


def _check(case: Case, result: Any) -> None:
    check_run(
        result.ops, result.requests, result.task_states, DEFAULT_CHECKERS, specs=case.sut.checker_specs()
    )


def fresh_phases(case: Case) -> tuple[dict[str, float], str]:
    """One fresh example, timed phase by phase; and its history's digest."""
    cfg = case.config()
    t: dict[str, float] = {}
    stack, clock = ExitStack(), VirtualClock()
    t0 = time.perf_counter()
    deployed = deploy(cfg, stack, clock)
    t1 = time.perf_counter()
    sim = Simulation(cfg, deployed)
    sim.start()
    t2 = time.perf_counter()
    sim.submit_all()
    sim.run()
    result = sim.result()
    t3 = time.perf_counter()
    _check(case, result)
    t4 = time.perf_counter()
    sim.close()
    stack.close()
    t5 = time.perf_counter()
    t.update(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True))
    return t, _digest(result.ops)


def forked_phases(case: Case) -> tuple[dict[str, float], str]:
    """One example from the fork server: the round trip split into the
    child's own time (agents and run) and the rest (fork, result sent back)."""
    cfg = case.config()
    t0 = time.perf_counter()
    result = forkserver.simulate(cfg)
    t1 = time.perf_counter()
    _check(case, result)
    t2 = time.perf_counter()
    child = result.real_seconds
    return {"fork and answer": (t1 - t0) - child, "agents and run": child, "checkers": t2 - t1}, _digest(
        result.ops
    )


def example_cases(n: int) -> list[Case]:
    """``n`` single-request cases without faults, one per seed."""
    wl = [{"request_id": "r0", "token_budget": 4000, "topic": "battery storage"}]
    return [Case.of(seed, wl) for seed in range(1, n + 1)]


def bench_example(*, repeat: int) -> BenchResult:
    res = BenchResult("example", "one property-suite example: phases, fresh and from a fork server")
    cases = example_cases(max(repeat, 2))
    start = time.perf_counter()
    forkserver.server_for(cases[0].config())
    server_start = time.perf_counter() - start
    fresh_phases(cases[0])  # warm-up: imports, this process's clients
    fresh_total: list[float] = []
    forked_total: list[float] = []
    phases: dict[str, list[float]] = {}
    for i, order in alternating(repeat):
        case = cases[i % len(cases)]
        digests = {}
        for variant in order:
            if variant == "a":
                t, digests["fresh"] = fresh_phases(case)
                fresh_total.append(sum(t.values()))
                for k, v in t.items():
                    phases.setdefault(f"fresh: {k}", []).append(v)
            else:
                t, digests["forked"] = forked_phases(case)
                forked_total.append(sum(t.values()))
                for k, v in t.items():
                    phases.setdefault(f"forked: {k}", []).append(v)
        if digests["fresh"] != digests["forked"]:
            raise RuntimeError(f"seed {case.seed}: the forked run's history differs from the fresh run's")
    res.add("fresh example", "s", fresh_total)
    res.add("forked example", "s", forked_total)
    res.add_paired("forked speed-up", "x", fresh_total, forked_total, ratio, note="fresh / forked, same case")
    for name, values in phases.items():
        res.add(name, "s", values)
    res.add("fork server start (once)", "s", [server_start])
    forkserver.shutdown()
    return res
