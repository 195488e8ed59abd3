"""`harness run` as users run it: a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.history import read_history


def _harness(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_run_records_checks_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = _harness(
        "run", "--requests", "4", "--workers", "3", "--seed", "2", "--plan", "none", "--out", str(out)
    )
    assert p.returncode == 0, p.stdout + p.stderr
    for line in (
        "requests submitted",
        "completed",
        "failed",
        "operations recorded",
        "wall time",
        "every request reached a terminal state",
        "no effect was performed twice",
        "PASS",
    ):
        assert line in p.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["submitted"] == 4
    assert summary["completed"] + summary["failed"] == 4
    assert summary["verdict"] == "pass"
    ops = read_history(out / "history.jsonl")
    assert len(ops) == summary["operations"]
    assert [o.index for o in ops] == list(range(len(ops)))
    assert all(a.time <= b.time for a, b in zip(ops, ops[1:], strict=False))
    agents = {o.meta.get("agent") for o in ops}
    assert {"supervisor", "worker-1", "worker-2", "worker-3", "deploy"} <= agents


@pytest.mark.slow
def test_sim_run_under_the_default_faults_replays_byte_for_byte(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        p = _harness("run", "--sim", "--requests", "3", "--seed", "4", "--out", str(out))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "replay" in p.stdout and "faults injected" in p.stdout
        runs.append(out)
    a, b = ((r / "history.jsonl").read_bytes() for r in runs)
    assert a == b
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["faults_injected"] > 0 and summary["verdict"] == "pass"
    assert (runs[0] / "report.html").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--requests", "-1"], "--requests must be zero or more"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--backend", "mainframe"], "unknown backend 'mainframe'"),
        (["--requests", "many"], "invalid int value"),
        (["--plan", "/nonexistent/plan.json"], "cannot read fault plan"),
        (["--sim", "--backend", "localstack"], "--sim runs on the embedded backend only"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    p = _harness("run", *args, timeout=60)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in p.stderr


def test_unknown_command_exit_2() -> None:
    p = _harness("frobnicate", timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def _agents_of(out: Path) -> list[int]:
    """Pids of live agent processes started for the run writing to ``out``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"harness.run.agent" in b" ".join(cmd) and str(out).encode() in b" ".join(cmd):
            pids.append(int(proc.name))
    return pids


@pytest.mark.slow
def test_a_killed_run_leaves_no_agent_process_behind(tmp_path: Path) -> None:
    import os
    import signal
    import time

    out = tmp_path / "run"
    run = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--requests", "50", "--plan", "none", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_agents_of(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_agents_of(out)) >= 2, "the run never started its agents"
    finally:
        os.kill(run.pid, signal.SIGKILL)  # no clean-up of its own
        run.wait()
    deadline = time.monotonic() + 30
    while _agents_of(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _agents_of(out) == []
