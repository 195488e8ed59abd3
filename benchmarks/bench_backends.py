"""Backends compared in one run: startup time of each, and the reference
workload's throughput on the embedded backend and on LocalStack, with their ratio.

    python -m benchmarks.bench_backends [--requests 20] [--repeat 3] [--seed 1]

Startup is the time from entering a backend's constructor to the answer of a
first call to each service the reference system uses (what a test waits for);
stop is the time its exit takes. LocalStack's one-off installation is reported
apart. Throughput: the reference system (supervisor, one worker loop per
capability, the audit consumer, all on instrumented Sessions, driven in one
thread) runs ``--requests`` requests to a terminal state; each repetition
deploys under a fresh prefix so queues stay shallow, after an untimed warm-up
request. Figures are medians; the JSON lands in ``runs/bench/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import Endpoints, embedded, localstack

BackendFactory = Callable[[], AbstractContextManager[Endpoints]]

#: name -> constructor; "embedded" alone means the server mode (HTTP on loopback,
#: as LocalStack is: the like-for-like comparison).
BACKENDS: dict[str, BackendFactory] = {
    "embedded-inprocess": lambda: embedded("inprocess"),
    "embedded-server": lambda: embedded("server"),
    "localstack": lambda: localstack(),
}


@dataclass
class Startup:
    backend: str
    start_s: list[float] = field(default_factory=list)
    stop_s: list[float] = field(default_factory=list)
    install_s: float | None = None

    @property
    def start_median(self) -> float:
        return statistics.median(self.start_s)

    @property
    def stop_median(self) -> float:
        return statistics.median(self.stop_s)


@dataclass
class Throughput:
    backend: str
    requests: int
    wall_s: list[float] = field(default_factory=list)
    aws_calls: list[int] = field(default_factory=list)
    done: int = 0
    failed: int = 0

    @property
    def requests_per_s(self) -> float:
        return self.requests / statistics.median(self.wall_s)

    @property
    def calls_per_s(self) -> float:
        return statistics.median(c / w for c, w in zip(self.aws_calls, self.wall_s, strict=True))


def _first_calls(ep: Endpoints) -> None:
    """One call to each service the reference system uses."""
    from harness.instrument.session import plain_session

    sess = plain_session(ep)
    sess.client("sqs").list_queues()
    sess.client("sns").list_topics()
    sess.client("dynamodb").list_tables()
    sess.client("stepfunctions").list_state_machines()


def measure_startup(name: str, repeat: int) -> Startup:
    out = Startup(name)
    for _ in range(repeat):
        t0 = time.perf_counter()
        cm = BACKENDS[name]()
        ep = cm.__enter__()
        try:
            _first_calls(ep)
            out.start_s.append(time.perf_counter() - t0)
            if name == "localstack":
                from harness.backends.localstack import last_timings

                if last_timings.install > 5:  # a real installation, not a cache hit
                    out.install_s = last_timings.install
                    out.start_s[-1] -= last_timings.install
        finally:
            t1 = time.perf_counter()
            cm.__exit__(None, None, None)
            out.stop_s.append(time.perf_counter() - t1)
    return out


def _run_workload(ep: Endpoints, prefix: str, n: int, seed: int) -> tuple[float, int, int, int]:
    """(wall seconds, AWS calls, done, failed) for ``n`` requests of the
    reference system under ``prefix``."""
    import harness
    from benchmarks.system import ended, terminal_counts
    from harness.history.recorder import Recorder
    from harness.instrument.session import plain_session
    from harness.system import build_agents, drive, load_system, retry

    sut = load_system()
    rec = Recorder()
    admin = plain_session(ep)
    res = sut.deploy(harness.session(ep, "deploy", rec), prefix, visibility_timeout=30)
    agents = list(build_agents(sut, res, lambda name: harness.session(ep, name, rec), seed=seed).values())
    client = harness.session(ep, "client", rec)
    reqs = sut.workload.requests(n, seed)
    tasks = [sut.workload.request_id(r) for r in reqs]
    start = len(rec.ops)
    t0 = time.perf_counter()
    for r in reqs:
        retry(lambda r=r: sut.workload.submit(client, res, r))
    drive(agents, ended(sut, admin, res, tasks), timeout=600)
    wall = time.perf_counter() - t0
    calls = sum(
        1 for op in rec.ops[start:] if op.type == "invoke" and "." in op.f and op.f.split(".")[0] in _AWS
    )
    done, failed = terminal_counts(sut, dict(sut.task_states(admin, res)), tasks)
    return wall, calls, done, failed


_AWS = frozenset({"sqs", "sns", "dynamodb", "events", "stepfunctions"})


def measure_throughput(name: str, n: int, repeat: int, seed: int) -> Throughput:
    out = Throughput(name, n)
    with BACKENDS[name]() as ep:
        _run_workload(ep, "warm", 1, seed)  # untimed: lazy service loading, imports
        for i in range(repeat):
            wall, calls, done, failed = _run_workload(ep, f"b{i}", n, seed + i)
            out.wall_s.append(wall)
            out.aws_calls.append(calls)
            out.done, out.failed = out.done + done, out.failed + failed
    return out


def _table(startups: list[Startup], runs: list[Throughput], ratios: dict[str, float]) -> Iterator[str]:
    yield "backend              start (s)  stop (s)  install (s)"
    for s in startups:
        install = f"{s.install_s:10.1f}" if s.install_s else "         -"
        yield f"{s.backend:<20} {s.start_median:9.2f} {s.stop_median:9.2f} {install}"
    yield ""
    yield "backend              requests  req/s   AWS calls/s  done  failed"
    for r in runs:
        yield (
            f"{r.backend:<20} {r.requests:8d} {r.requests_per_s:6.2f} {r.calls_per_s:12.1f} "
            f"{r.done:5d} {r.failed:7d}"
        )
    yield ""
    for k, v in ratios.items():
        yield f"{k}: {v:.2f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_backends", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--requests", type=int, default=20, help="requests per timed run (default: 20)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per backend (default: 3)")
    ap.add_argument("--startup-repeat", type=int, default=3, help="starts per backend (default: 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON output (default: runs/bench/backends-<time>.json)"
    )
    args = ap.parse_args(argv)

    startups = [measure_startup(name, args.startup_repeat) for name in BACKENDS]
    runs = {name: measure_throughput(name, args.requests, args.repeat, args.seed) for name in BACKENDS}
    ls = runs["localstack"].requests_per_s
    ratios = {
        "throughput embedded-server / localstack": runs["embedded-server"].requests_per_s / ls,
        "throughput embedded-inprocess / localstack": runs["embedded-inprocess"].requests_per_s / ls,
    }
    for line in _table(startups, list(runs.values()), ratios):
        print(line)
    out = args.out or Path("runs") / "bench" / f"backends-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "args": vars(args) | {"out": str(out)},
        "startup": [
            asdict(s) | {"start_median_s": s.start_median, "stop_median_s": s.stop_median} for s in startups
        ],
        "throughput": [
            asdict(r) | {"requests_per_s": r.requests_per_s, "aws_calls_per_s": r.calls_per_s}
            for r in runs.values()
        ],
        "ratios": ratios,
    }
    out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
