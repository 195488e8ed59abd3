"""Reference-system throughput and the end-to-end recording overhead.

Each repetition is a pair of runs of the same workload (same seed, same
request count) on a fresh backend: one with every agent on an instrumented
Session, one with every agent on a plain Session. Pairs alternate their order
(AB, BA, ...). Throughput comes from the instrumented runs, the only ones
whose calls are counted; the overhead is median(instrumented) / median(plain),
in wall time and in CPU time.
"""

from __future__ import annotations

from dataclasses import asdict

from benchmarks.result import BenchResult
from benchmarks.stats import alternating, ratio
from benchmarks.system import Mode, SystemRun, run_system

#: The issue's target for the recording overhead.
TARGET_RATIO = 1.10

#: Requests in the untimed warm-up run (imports, moto's lazily built backends, pydantic
#: validators). An instrumented run exercises everything a plain one does, and more.
WARMUP_REQUESTS = 1


def bench_e2e(mode: Mode, *, requests: int, repeat: int, seed: int) -> BenchResult:
    """``repeat`` alternated pairs, after a warm-up run unless ``repeat`` is 1 (a
    smoke run, whose figures include first-run costs and mean little)."""
    if repeat > 1:
        run_system(mode, instrumented=True, requests=WARMUP_REQUESTS, seed=seed)

    runs: dict[str, list[SystemRun]] = {"a": [], "b": []}
    for _, order in alternating(repeat):
        for variant in order:
            runs[variant].append(run_system(mode, instrumented=variant == "a", requests=requests, seed=seed))
    instr, plain = runs["a"], runs["b"]
    _check_outcomes(instr + plain)

    out = BenchResult(
        name=mode,
        description=f"reference system, embedded {mode} backend, {requests} requests, seed {seed}",
    )
    out.add("requests/s", "req/s", [r.requests_per_s for r in instr], "instrumented")
    out.add("AWS operations/s", "ops/s", [r.aws_calls_per_s or 0.0 for r in instr], "instrumented")
    out.add("AWS calls per run", "calls", [float(r.aws_calls or 0) for r in instr])
    out.add("wall, plain", "s", [r.wall_s for r in plain])
    out.add("wall, instrumented", "s", [r.wall_s for r in instr])
    wall = out.add_paired(
        "overhead ratio, wall",
        "x",
        [r.wall_s for r in instr],
        [r.wall_s for r in plain],
        ratio,
        "instrumented/plain",
    )
    out.add("CPU, plain", "s", [r.cpu_s for r in plain])
    out.add("CPU, instrumented", "s", [r.cpu_s for r in instr])
    cpu = out.add_paired(
        "overhead ratio, CPU",
        "x",
        [r.cpu_s for r in instr],
        [r.cpu_s for r in plain],
        ratio,
        "instrumented/plain",
    )
    out.add("GC, plain", "s", [r.gc_s for r in plain], "cyclic collector, wall")
    out.add("GC, instrumented", "s", [r.gc_s for r in instr], "cyclic collector, wall")
    out.add(
        "overhead ratio, fastest runs",
        "x",
        [ratio(min(r.wall_s for r in instr), min(r.wall_s for r in plain))],
        "min/min wall: least disturbed by other load",
    )
    calls = instr[0].aws_calls or 1
    out.add_paired(
        "added CPU per AWS call",
        "us",
        [r.cpu_s for r in instr],
        [r.cpu_s for r in plain],
        lambda a, b: 1e6 * (a - b) / calls,
    )
    out.data = {
        "mode": mode,
        "requests": requests,
        "repeat": repeat,
        "seed": seed,
        "overhead_ratio": wall.summary.median,
        "overhead_ratio_cpu": cpu.summary.median,
        "overhead_target": TARGET_RATIO,
        "runs": [asdict(r) for r in instr + plain],
    }
    return out


def _check_outcomes(runs: list[SystemRun]) -> None:
    """Every run of one workload must end alike, or the comparison is unfair."""
    outcomes = {(r.requests, r.done, r.failed) for r in runs}
    if len(outcomes) != 1:
        raise RuntimeError(f"runs of the same workload ended differently: {sorted(outcomes)}")
    ((n, done, failed),) = outcomes
    if done + failed != n:
        raise RuntimeError(f"{n - done - failed} of {n} requests did not reach a terminal state")
