"""Where the instrumentation spends its time: the timed part of one
instrumented in-process run of the reference system under cProfile, reduced
to the harness's recording code (``harness/instrument``, ``harness/history``)."""

from __future__ import annotations

import cProfile
import pstats
from typing import Any

from benchmarks.result import BenchResult
from benchmarks.system import run_system

#: The botocore event handlers the instrumented Session installs: their
#: cumulative times add up to everything recording costs per call.
HOOKS = frozenset({"before_parameter_build", "send", "after_call", "after_call_error"})
HOOK_FILE = "harness/instrument/session.py"
#: Where recording code lives (the backends' own code is not recording).
RECORDING = ("harness/instrument/", "harness/history/")
TOP = 15


def _rows(stats: pstats.Stats) -> list[dict[str, Any]]:
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in raw.items():
        path = filename.replace("\\", "/")
        if "/harness/" not in path:
            continue
        rel = path[path.rindex("/harness/") + 1 :]
        if not rel.startswith(RECORDING):
            continue
        rows.append(
            {
                "function": f"{rel}:{line}({func})",
                "calls": ncalls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
                "hook": rel == HOOK_FILE and func in HOOKS,
            }
        )
    return rows


def bench_profile(*, requests: int, seed: int) -> BenchResult:
    run_system("inprocess", instrumented=True, requests=1, seed=seed)  # warm-up
    prof = cProfile.Profile()
    run = run_system("inprocess", instrumented=True, requests=requests, seed=seed, profile=prof)
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = _rows(stats)
    hooks_s = sum(r["cumtime_s"] for r in rows if r["hook"])
    calls = run.aws_calls or 1
    out = BenchResult(
        name="profile",
        description=f"cProfile of one instrumented in-process run, {requests} requests; the profiler inflates times",
    )
    out.add("hooks' share of workload CPU", "%", [100.0 * hooks_s / total], "under cProfile")
    out.add("hook time per AWS call", "us/call", [1e6 * hooks_s / calls], "under cProfile")
    out.data = {
        "total_s": total,
        "hooks_s": hooks_s,
        "aws_calls": run.aws_calls,
        "by_cumtime": sorted(rows, key=lambda r: -r["cumtime_s"])[:TOP],
        "by_tottime": sorted(rows, key=lambda r: -r["tottime_s"])[:TOP],
    }
    return out
