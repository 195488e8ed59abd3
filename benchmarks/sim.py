"""The deterministic simulator's speed: virtual seconds per real second and
complete runs per second, for the default scenario of ``harness run --sim``.

A repetition times one whole :func:`harness.sim.simulate` call: a fresh
in-process backend, deployment, the agents, the run to the end and its
invariants. ``virtual/real, run only`` leaves out the set-up and tear-down.

The baseline, measured in the same process and alternated with the
simulator: the same requests, run live on in-process moto in real time (the
agents driven in one thread, no simulated latency, no faults), against the
simulator on the same requests without faults. Their ratio is what the
simulator costs over simply running the system.

Each repetition of one configuration must simulate the same virtual time and
record the same number of operations (the simulator is deterministic); the
benchmark stops with an error if not.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.result import BenchResult
from benchmarks.stats import alternating, ratio, timed
from benchmarks.system import AWS_PREFIXES, run_system
from harness.sim import SimResult, default_scenario, simulate

#: The issue's target for virtual seconds simulated per real second.
TARGET_SPEEDUP = 100.0


@dataclass(frozen=True)
class SimRun:
    wall_s: float
    cpu_s: float
    run_s: float
    virtual_s: float
    ops: int
    aws_calls: int
    steps: int
    faults: int
    stopped: str


def sim_once(seed: int, requests: int, faults: bool) -> SimRun:
    cfg = default_scenario(seed, requests, "default" if faults else None)
    timing, r = timed(lambda: simulate(cfg))
    return SimRun(
        wall_s=timing.wall,
        cpu_s=timing.cpu,
        run_s=r.real_seconds,
        virtual_s=r.virtual_seconds,
        ops=len(r.ops),
        aws_calls=_aws_calls(r),
        steps=r.steps,
        faults=r.faults_injected,
        stopped=r.stopped,
    )


def _aws_calls(r: SimResult) -> int:
    return sum(1 for op in r.ops if op.type == "invoke" and op.f.startswith(AWS_PREFIXES))


def bench_sim(*, requests: int, repeat: int, seed: int) -> BenchResult:
    if repeat > 1:
        sim_once(seed, 1, faults=True)  # warm-up: imports, moto's lazily built backends
    scenario = [sim_once(seed, requests, faults=True) for _ in range(repeat)]
    _check_deterministic(scenario, "default scenario")

    quiet: list[SimRun] = []
    live_wall: list[float] = []
    for _, order in alternating(repeat):
        for variant in order:
            if variant == "a":
                quiet.append(sim_once(seed, requests, faults=False))
            else:
                live_wall.append(
                    run_system("inprocess", instrumented=True, requests=requests, seed=seed).wall_s
                )
    _check_deterministic(quiet, "scenario without faults")

    s0 = scenario[0]
    out = BenchResult(
        name="sim",
        description=(
            f"deterministic simulator, default scenario ({requests} requests, default fault plan, "
            f"seed {seed}): {s0.virtual_s:.1f} virtual s, {s0.aws_calls} AWS calls, {s0.faults} faults"
        ),
    )
    out.add("virtual/real", "x", [r.virtual_s / r.wall_s for r in scenario], "whole simulate() call")
    out.add("virtual/real, run only", "x", [r.virtual_s / r.run_s for r in scenario], "without set-up")
    out.add("complete runs/s", "runs/s", [1.0 / r.wall_s for r in scenario])
    out.add("wall per run", "s", [r.wall_s for r in scenario])
    out.add("CPU per run", "s", [r.cpu_s for r in scenario])
    out.add("AWS calls/s", "calls/s", [r.aws_calls / r.wall_s for r in scenario])
    out.add("steps/s", "steps/s", [r.steps / r.wall_s for r in scenario])
    out.add("wall, simulator without faults", "s", [r.wall_s for r in quiet])
    out.add("wall, live in real time", "s", live_wall, "same requests, in-process moto, no faults")
    out.add_paired(
        "simulator cost over a live run",
        "x",
        [r.wall_s for r in quiet],
        live_wall,
        ratio,
        "simulator without faults / live",
    )
    out.data = {
        "requests": requests,
        "repeat": repeat,
        "seed": seed,
        "virtual_seconds": s0.virtual_s,
        "speedup": out.figure("virtual/real").summary.median,
        "speedup_target": TARGET_SPEEDUP,
        "runs": [r.__dict__ for r in scenario],
        "runs_without_faults": [r.__dict__ for r in quiet],
        "live_wall_s": live_wall,
    }
    return out


def _check_deterministic(runs: list[SimRun], what: str) -> None:
    outcomes = {(round(r.virtual_s, 6), r.ops, r.stopped) for r in runs}
    if len(outcomes) != 1:
        raise RuntimeError(f"{what}: repetitions of one seed differ: {sorted(outcomes)}")
