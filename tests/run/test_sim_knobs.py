"""``harness run --sim`` at another scale: the knobs of a simulated run as
flags, and in the command that replays it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.history import read_history


def test_workers_and_supervisors_reach_the_simulator_and_the_replay_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--requests", "1", "--seed", "2", "--plan", "none", "--workers", "2", "--supervisors", "2"]
    args += ["--visibility-timeout", "7", "--max-virtual-seconds", "900"]
    p = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--sim", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    agents = {o.process for o in read_history(out / "history.jsonl")}
    assert {"supervisor", "supervisor-2", "research-1", "research-2", "write-2", "review-2"} <= agents
    replay = json.loads((out / "summary.json").read_text())["replay"]
    assert replay == (
        "harness run --sim --seed 2 --requests 1 --workers 2 --supervisors 2 --visibility-timeout 7 "
        "--max-virtual-seconds 900"
    )
