"""The console table and the JSON file of one suite run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from benchmarks.result import BenchResult

HEADERS = ("benchmark", "figure", "median", "min", "max", "unit", "note")


def fmt(x: float) -> str:
    if x != x:  # NaN
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 10:
        return f"{x:.2f}"
    return f"{x:.3f}"


def table(results: list[BenchResult]) -> str:
    rows = [HEADERS]
    for r in results:
        for f in r.figures:
            s = f.summary
            rows.append((r.name, f.name, fmt(s.median), fmt(s.min), fmt(s.max), f.unit, f.note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    numeric = {2, 3, 4}
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_profile(result: BenchResult, out: TextIO = sys.stdout) -> None:
    print(f"\nprofile: harness functions by cumulative time ({result.description})", file=out)
    for row in result.data.get("by_cumtime", []):
        mark = "*" if row["hook"] else " "
        print(
            f" {mark} {row['cumtime_s']:8.3f}s cum {row['tottime_s']:8.3f}s own {row['calls']:>8}x  {row['function']}",
            file=out,
        )
    print("   (* = a botocore hook installed by the instrumented Session)", file=out)


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: a busy machine makes wall times noisy."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def busy_note() -> str | None:
    """A line to print when the machine was busier than its CPUs (wall times are then noisy)."""
    load = load_average()
    if load and load[0] > (os.cpu_count() or 1):
        return f"note: load average {load[0]:.1f} on {os.cpu_count()} CPUs: wall times are noisy; trust the CPU ratios"
    return None


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_end": load_average(),
        "git_commit": _git("rev-parse", "HEAD"),
        # What was measured may differ from the commit: uncommitted changes to the code under test.
        "git_dirty": _git("status", "--porcelain", "--", "harness", "reference_system", "benchmarks"),
    }


def write_json(
    out_dir: Path,
    args: dict[str, Any],
    results: list[BenchResult],
    started: float,
    load_start: list[float] | None,
) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = out_dir / f"{stamp}-{n}.json"
    doc = {
        "started": stamp,
        "duration_s": time.time() - started,
        "args": args,
        "environment": {"load_average_start": load_start, **environment()},
        "results": [r.to_dict() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
    return path
