"""``python -m benchmarks``: run the suite, print a table, write ``runs/bench/<timestamp>.json``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.bench_cluster import bench_cluster
from benchmarks.bench_explore import bench_explore
from benchmarks.calls import bench_calls
from benchmarks.e2e import TARGET_RATIO, bench_e2e
from benchmarks.example import bench_example
from benchmarks.profiling import bench_profile
from benchmarks.report import busy_note, load_average, print_profile, table, write_json
from benchmarks.result import BenchResult
from benchmarks.sim import TARGET_SPEEDUP, bench_sim

Bench = Callable[[argparse.Namespace], BenchResult]

#: Every benchmark, in the order they run.
BENCHMARKS: dict[str, tuple[Bench, str]] = {
    "inprocess": (
        lambda a: bench_e2e("inprocess", requests=a.requests, repeat=a.repeat, seed=a.seed),
        "throughput and recording overhead, embedded in-process backend",
    ),
    "server": (
        lambda a: bench_e2e("server", requests=a.requests, repeat=a.repeat, seed=a.seed),
        "throughput and recording overhead, embedded server backend (HTTP on loopback)",
    ),
    "sim": (
        lambda a: bench_sim(requests=a.sim_requests, repeat=a.repeat, seed=a.seed),
        "deterministic simulator: virtual s per real s and runs/s, default scenario; live run as baseline",
    ),
    "calls": (
        lambda a: bench_calls(calls=a.calls, repeat=a.repeat),
        "per-call cost of recording: GetItem / SendMessage, instrumented vs plain",
    ),
    "example": (
        lambda a: bench_example(repeat=a.repeat),
        "one property-suite example, phase by phase: fresh against a fork server's deployed state",
    ),
    "explore": (
        lambda a: bench_explore(cases=12, repeat=a.repeat, seed=a.seed),
        "examples/s of single-request cases: baseline, serial, harness explore --jobs 1 and --jobs 2 (only with --only)",
    ),
    "cluster": (
        lambda a: bench_cluster(cases=12, repeat=a.repeat, seed=a.seed),
        "cases/s on a Dask cluster of 1 and 2 workers on this machine (only with --only)",
    ),
    "profile": (
        lambda a: bench_profile(requests=a.requests, seed=a.seed),
        "where the instrumentation spends its time (cProfile; only with --profile or --only)",
    ),
}
DEFAULT = ("inprocess", "server", "sim", "calls", "example")


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Reference-system throughput and the recording overhead of the instrumented Session.",
        epilog="benchmarks: " + "; ".join(f"{k}: {v[1]}" for k, v in BENCHMARKS.items()),
    )
    p.add_argument("--requests", type=_positive, default=20, help="requests per reference-system run (20)")
    p.add_argument("--repeat", type=_positive, default=5, help="repetitions of each variant, alternated (5)")
    p.add_argument(
        "--calls", type=_positive, default=100, help="calls per block in the per-call benchmark (100)"
    )
    p.add_argument(
        "--sim-requests", type=_positive, default=10, help="requests in the simulator's scenario (10)"
    )
    p.add_argument("--seed", type=int, default=1, help="workload seed (1)")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=sorted(BENCHMARKS),
        help="run only this benchmark (repeatable): " + ", ".join(BENCHMARKS),
    )
    p.add_argument("--profile", action="store_true", help="also profile the instrumentation")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="directory for the JSON results")
    return p.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    wanted = set(args.only) if args.only else set(DEFAULT) | ({"profile"} if args.profile else set())
    return [name for name in BENCHMARKS if name in wanted]


def overhead_line(r: BenchResult) -> str:
    wall = r.figure("overhead ratio, wall").summary
    cpu = r.figure("overhead ratio, CPU").summary
    verdict = "within" if wall.median <= TARGET_RATIO else "ABOVE"
    return (
        f"recording overhead ({r.name}): {wall.median:.3f}x wall (pairs {wall.min:.3f}..{wall.max:.3f}), "
        f"{cpu.median:.3f}x CPU (pairs {cpu.min:.3f}..{cpu.max:.3f}), n={wall.n}; "
        f"wall ratio {verdict} the {TARGET_RATIO:.2f} target"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    load_start = load_average()
    results: list[BenchResult] = []
    for name in selected(args):
        print(f"running {name}: {BENCHMARKS[name][1]} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        results.append(BENCHMARKS[name][0](args))
        print(f"  {name} took {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)

    print(table(results))
    for r in results:
        if r.name == "profile":
            print_profile(r)
    print()
    for r in results:
        if "overhead_ratio" in r.data:
            print(overhead_line(r))
        if "speedup" in r.data:
            verdict = "meets" if r.data["speedup"] >= TARGET_SPEEDUP else "BELOW"
            print(
                f"simulator: {r.data['speedup']:.1f}x virtual/real on the default scenario "
                f"({r.data['virtual_seconds']:.1f} virtual s); {verdict} the {TARGET_SPEEDUP:.0f}x target"
            )
    if (note := busy_note()) is not None:
        print(note)
    plain_args = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    path = write_json(args.out, plain_args, results, started, load_start)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
