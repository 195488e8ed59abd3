"""Examples per second of ``harness explore``'s local executor, on
single-request cases, against the baseline measured in the same run: the
same cases simulated and checked one after another with ``Case.run`` in this
process, as the property suite ran them before examples were made cheaper
(``baseline``: moto's and botocore's per-request work not memoised, every
request signed for real, every case deployed afresh), and as it runs them
now (``serial``).

    python -m benchmarks.bench_explore [--cases 12] [--repeat 3] [--seed 1]

The cases are the campaign's own (``CaseSource``, campaign seed ``seed``),
each cut to its first request, repeats dropped. Each repetition runs the
four variants (baseline, serial, ``--jobs 1``, ``--jobs 2``) in an order rotated
from the last, after one untimed warm-up case, so that drift weighs on all
alike. The executors' clocks start once their worker processes are up and
have each run an empty case (``start``, timed apart as "worker start"):
that is paid once per campaign, not per case. Every variant must give every case the same history as the
serial run (the simulator is deterministic); the benchmark stops with an
error if not.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace

from benchmarks.result import BenchResult
from benchmarks.stats import ratio
from harness.explore.generate import CaseSource
from harness.explore.local import LocalExecutor, warm_case
from harness.sim.case import Case
from harness.system import SystemRef

VARIANTS = ("baseline", "serial", "jobs 1", "jobs 2")


def single_request_cases(n: int, seed: int) -> list[Case]:
    """``n`` different campaign cases of campaign seed ``seed``, each with its first request only."""
    source = CaseSource(SystemRef(), seed)
    out: dict[str, Case] = {}
    for _, case in source.iterate():
        one = replace(case, workload=case.workload[:1])
        out.setdefault(one.digest(), one)
        if len(out) == n:
            return list(out.values())
    raise AssertionError("unreachable: the source never ends")


def _serial(cases: list[Case]) -> tuple[float, dict[str, str]]:
    from harness.history.jsonl import dumps_op

    digests = {}
    t0 = time.perf_counter()
    for case in cases:
        result, _ = case.run()
        digests[case.digest()] = hashlib.sha256(b"".join(dumps_op(op) for op in result.ops)).hexdigest()
    return time.perf_counter() - t0, digests


def _baseline(cases: list[Case]) -> tuple[float, float, dict[str, str]]:
    """Serial, with what made examples cheaper switched off."""
    import sys
    from contextlib import nullcontext
    from unittest import mock

    embedded = sys.modules["harness.backends.embedded"]  # the module (the package exports its function)
    with (
        mock.patch.object(embedded, "cheaper_requests", nullcontext),
        mock.patch.object(embedded, "cheaper_client_requests", nullcontext),
    ):
        wall, digests = _serial(cases)
    return wall, 0.0, digests


def _executor(cases: list[Case], jobs: int) -> tuple[float, float, dict[str, str]]:
    ex = LocalExecutor(jobs)
    try:
        t0 = time.perf_counter()
        ex.start(warm_case())
        t1 = time.perf_counter()
        outcomes = list(ex.run([c.to_json() for c in cases]))
        t2 = time.perf_counter()
    finally:
        ex.close()
    errors = [o.error for o in outcomes if o.error]
    if errors:
        raise RuntimeError(f"jobs {jobs}: a case could not run: {errors[0]}")
    return t2 - t1, t1 - t0, {Case.from_json(o.case).digest(): o.history_sha256 for o in outcomes}


def bench_explore(*, cases: int = 12, repeat: int = 3, seed: int = 1) -> BenchResult:
    chosen = single_request_cases(cases, seed)
    chosen[0].run()  # warm-up: imports, moto's lazily built backends, the agents' pooled clients
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    starts: dict[str, list[float]] = {"jobs 1": [], "jobs 2": []}
    expected: dict[str, str] | None = None
    runs: dict[str, Callable[[], tuple[float, float, dict[str, str]]]] = {
        "baseline": lambda: _baseline(chosen),
        "serial": lambda: _serial_pair(chosen),
        "jobs 1": lambda: _executor(chosen, 1),
        "jobs 2": lambda: _executor(chosen, 2),
    }
    for i in range(repeat):
        order = VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]
        for variant in order:
            wall, start, digests = runs[variant]()
            if expected is None:
                expected = digests
            elif digests != expected:
                differ = sorted(k for k in expected if digests.get(k) != expected[k])
                raise RuntimeError(f"{variant}: cases gave other histories than before: {differ[:3]}")
            seconds[variant].append(wall)
            if variant in starts:
                starts[variant].append(start)

    out = BenchResult(
        name="explore",
        description=(
            f"harness explore's local executor vs serial Case.run, {cases} single-request campaign cases "
            f"(campaign seed {seed}), {repeat} repetitions"
        ),
    )
    rates = {v: [cases / s for s in seconds[v]] for v in VARIANTS}
    for v in VARIANTS:
        note = {"baseline": "Case.run, nothing made cheaper", "serial": "Case.run in this process"}.get(v, "")
        out.add(f"examples/s, {v}", "cases/s", rates[v], note)
    for v in ("serial", "jobs 1", "jobs 2"):
        out.add_paired(f"{v} / baseline", "x", rates[v], rates["baseline"], ratio, "examples/s ratio")
    for v in ("jobs 1", "jobs 2"):
        out.add_paired(f"{v} / serial", "x", rates[v], rates["serial"], ratio, "examples/s ratio")
    out.add_paired("jobs 2 / jobs 1", "x", rates["jobs 2"], rates["jobs 1"], ratio, "examples/s ratio")
    for v, values in starts.items():
        out.add(f"worker start, {v}", "s", values, "fork, set-up run; once per campaign")
    out.data = {
        "cases": cases,
        "repeat": repeat,
        "seed": seed,
        "digests": [c.digest() for c in chosen],
        "seconds": seconds,
        "worker_start_seconds": starts,
    }
    return out


def _serial_pair(cases: list[Case]) -> tuple[float, float, dict[str, str]]:
    wall, digests = _serial(cases)
    return wall, 0.0, digests


def main(argv: list[str] | None = None) -> None:
    from benchmarks.report import table

    p = argparse.ArgumentParser(description="Examples per second of harness explore's local executor.")
    p.add_argument("--cases", type=int, default=12, help="single-request cases per variant (12)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions of the four variants (3)")
    p.add_argument("--seed", type=int, default=1, help="campaign seed the cases come from (1)")
    a = p.parse_args(argv)
    result = bench_explore(cases=a.cases, repeat=a.repeat, seed=a.seed)
    print(result.description)
    print(table([result]))


if __name__ == "__main__":
    main()
