"""Exploration on a Dask cluster: cases per second through the Dask executor
with one worker and with two, on this machine, and their ratio.

    python -m benchmarks.bench_cluster [--cases 12] [--repeat 3] [--seed 1] [--out runs/bench]

A cluster is started the way a user starts one, with Dask's command line on
127.0.0.1: ``dask scheduler`` and one or two ``dask worker ... --nworkers 1
--nthreads 1`` processes (the second is started and stopped between runs, so
the two variants alternate: 1, 2 | 2, 1 | ...). A repetition times one
``DaskExecutor.run`` over the same ``--cases`` cases, from the first
submission to the last outcome, after an untimed warm-up run of a few cases
on the same workers (each worker sets itself up once, when it joins).

The cases are a campaign's: the reference system, one request, the default
fault plan, a seed each. Every repetition must give each case the same
outcome (failed or not, its violations and its history's sha256); the
benchmark stops with an error if not. The target: two workers at least 1.7x
the cases per second of one (each worker is one process on one of the two
CPUs; the client and the scheduler share them).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.report import busy_note, load_average, table, write_json
from benchmarks.result import BenchResult
from benchmarks.stats import alternating, ratio
from harness.backends._proc import Server, free_port, stop_all
from harness.explore.dask_executor import DaskExecutor
from harness.explore.outcome import Outcome
from harness.faults.defaults import default_plan
from harness.sim.case import Case

#: The issue's target for cases/s on two workers over cases/s on one.
TARGET_SCALING = 1.7
#: Seconds a scheduler or a worker may take to start on a busy machine.
START_TIMEOUT = 120.0

DASK = Path(sys.executable).with_name("dask")
REPO = Path(__file__).resolve().parents[1]


def campaign_cases(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` cases of the reference system: one request and the default fault plan each."""
    request = {"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}
    return [Case.of(seed + i, [request], default_plan(seed + i)).to_json() for i in range(n)]


class ProcessCluster:
    """A Dask scheduler and workers, each a process of Dask's command line on 127.0.0.1."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        cmd = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        self.scheduler = Server("dask scheduler", cmd, self.env, logs / "scheduler.log", REPO)
        self.workers: list[Server] = []
        self._started = 0
        try:
            self.scheduler.wait_ready(lambda: _listening(port), START_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def scale(self, n: int) -> None:
        """Start or stop workers until ``n`` are connected."""
        while len(self.workers) > n:
            stop_all([self.workers.pop()], grace=30.0)
        while len(self.workers) < n:
            self._started += 1
            name = f"w{self._started}"
            cmd = [
                str(DASK), "worker", self.address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                "--host", "127.0.0.1", "--name", name, "--local-directory", str(self.logs / name),
                "--death-timeout", "60",
            ]  # fmt: skip
            self.workers.append(Server(f"dask worker {name}", cmd, self.env, self.logs / f"{name}.log", REPO))
        self._wait_for(n)

    def _wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT, set_as_default=False) as client:
            deadline = time.monotonic() + START_TIMEOUT
            while len(client.nthreads()) != n:
                dead = [w for w in self.workers if not w.alive()]
                if dead:
                    raise RuntimeError(f"{dead[0].name} exited: {dead[0].last_line()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{n} workers not connected after {START_TIMEOUT:.0f} s")
                time.sleep(0.2)

    def close(self) -> None:
        stop_all([*self.workers, self.scheduler], grace=30.0)
        self.workers.clear()


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1.0):
        return True


def _key(case: dict[str, Any]) -> str:
    return json.dumps(case, sort_keys=True)


def _signature(outcomes: list[Outcome]) -> dict[str, tuple[Any, ...]]:
    return {_key(o.case): (o.failed, o.violations, o.history_sha256, o.error) for o in outcomes}


def run_once(address: str, cases: list[dict[str, Any]], workers: int) -> tuple[float, list[Outcome]]:
    """Wall seconds for one run of ``cases`` on the cluster, and their outcomes."""
    with DaskExecutor(address, connect_timeout=START_TIMEOUT) as ex:
        if ex.jobs != workers:
            raise RuntimeError(f"expected {workers} worker threads, the cluster has {ex.jobs}")
        list(ex.run(cases[: 2 * workers]))  # warm-up: set-up plugin, first cases on each worker
        t0 = time.perf_counter()
        outcomes = list(ex.run(cases))
        return time.perf_counter() - t0, outcomes


def bench_cluster(*, cases: int, repeat: int, seed: int, logs: Path | None = None) -> BenchResult:
    work = campaign_cases(cases, seed)
    cluster = ProcessCluster(logs or Path("runs/bench/cluster"))
    rates: dict[int, list[float]] = {1: [], 2: []}
    per_case: list[float] = []
    expected: dict[str, tuple[Any, ...]] | None = None
    try:
        for _, order in alternating(repeat):
            for variant in order:
                n = 1 if variant == "a" else 2
                cluster.scale(n)
                wall, outcomes = run_once(cluster.address, work, n)
                sig = _signature(outcomes)
                if expected is None:
                    expected = sig
                elif sig != expected:
                    raise RuntimeError(f"a repetition on {n} worker(s) gave different outcomes")
                rates[n].append(len(outcomes) / wall)
                per_case.extend(o.seconds for o in outcomes)
    finally:
        cluster.close()

    failed = sum(1 for s in (expected or {}).values() if s[0])
    r = BenchResult(
        "cluster",
        f"{cases} cases (reference system, 1 request, default fault plan) through DaskExecutor; "
        f"{failed} of them fail",
    )
    r.add("cases/s, 1 worker", "cases/s", rates[1])
    r.add("cases/s, 2 workers", "cases/s", rates[2])
    scaling = r.add_paired(
        "scaling, 2 workers / 1", "x", rates[2], rates[1], ratio, note=f"target >= {TARGET_SCALING}"
    )
    r.add("seconds per case, on a worker", "s", per_case, note="run_case's own wall time")
    r.data.update(
        {
            "cases": cases,
            "seed": seed,
            "rates": {str(k): v for k, v in rates.items()},
            "scaling": scaling.summary.median,
            "target_scaling": TARGET_SCALING,
            "failed_cases": failed,
            "load_average": load_average(),
        }
    )
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_cluster", description=__doc__.splitlines()[0]
    )
    p.add_argument("--cases", type=int, default=12, help="cases per run (12)")
    p.add_argument("--repeat", type=int, default=3, help="pairs of runs, one worker and two, alternated (3)")
    p.add_argument("--seed", type=int, default=1, help="seed of the first case (1)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="directory for the JSON results")
    a = p.parse_args(argv)
    started, load_start = time.time(), load_average()
    r = bench_cluster(cases=a.cases, repeat=a.repeat, seed=a.seed, logs=a.out / "cluster")
    print(table([r]))
    verdict = "meets" if r.data["scaling"] >= TARGET_SCALING else "BELOW"
    print(
        f"\ncluster: 2 workers run {r.data['scaling']:.2f}x the cases/s of 1; {verdict} the {TARGET_SCALING}x target"
    )
    if (note := busy_note()) is not None:
        print(note)
    args = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()}
    print(f"results: {write_json(a.out, args, [r], started, load_start)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
