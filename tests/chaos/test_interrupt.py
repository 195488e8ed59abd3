"""Ctrl-C in the middle of an experiment: the rollbacks run and nothing is left
behind (no fault plan, no proxy, no paused or leftover process); killed
outright, its agents still go away."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.run import processes
from tests.chaos.conftest import EXPERIMENTS, assert_nothing_left, finish, start_chaos

pytestmark = pytest.mark.slow


def _action(title: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "action",
        "name": title,
        "provider": {
            "type": "python",
            "module": "harness.chaos.actions",
            "func": func,
            "arguments": arguments,
        },
    }


def _long_experiment(tmp: Path) -> Path:
    """worker-crash.json with a method that leaves every kind of fault in place, then waits."""
    exp = json.loads((EXPERIMENTS / "worker-crash.json").read_text())
    exp["controls"][0]["provider"]["arguments"]["warmup_requests"] = 0
    # The wait is a probe, not a pause: Chaos Toolkit sleeps an activity's
    # "pauses.after" in a `finally`, so a Ctrl-C during that activity would wait it out.
    wait = {
        "type": "probe",
        "name": "wait",
        "provider": {
            "type": "python",
            "module": "harness.chaos.probes",
            "func": "tasks_in_flight",
            "arguments": {"settle_timeout": 120},
        },
    }
    plan = {"faults": [{"kind": "delay", "trigger": {"probability": 0.1}, "params": {"seconds": 0.1}}]}
    exp["method"] = [
        _action("submit", "submit_requests", count=2),
        _action("apply-a-plan", "apply_fault_plan", name="slow", plan=plan),
        _action("partition-worker-2", "partition_agent", agent="worker-2", service="*"),
        _action("pause-worker-3", "pause_worker", agent="worker-3", seconds=0),
        wait,
    ]
    path = tmp / "interrupted.json"
    path.write_text(json.dumps(exp))
    return path


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _state(tmp: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((tmp / "out" / "cluster.json").read_text()))
    except (OSError, ValueError):
        return {}


def _faults_in_place(tmp: Path) -> bool:
    s = _state(tmp)
    return bool(s.get("plans")) and s.get("paused") == ["worker-3"] and "worker-2" in s.get("partitioned", {})


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path, presses: int) -> None:
    t0 = time.monotonic()
    proc = start_chaos(_long_experiment(tmp_path), tmp_path)
    try:
        _wait_for(lambda: _faults_in_place(tmp_path), 60, "the faults to be in place")
        state = _state(tmp_path)
        paused = state["agents"]["worker-3"]["pid"]
        _wait_for(lambda: processes.state(paused) == "T", 5, "worker-3 to be stopped")
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.2)
        run = finish(proc, tmp_path, t0, timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert run.journal["status"] == "interrupted"
    # A second Ctrl-C does not cut the rollbacks short.
    assert [r["activity"]["name"] for r in run.journal["rollbacks"]] == [
        "clear-every-fault-plan",
        "heal-every-agent",
    ]
    assert all(r["status"] == "succeeded" for r in run.journal["rollbacks"])
    assert_nothing_left(run)
    assert not processes.alive(paused)
    assert not list((run.out / "plans").glob("*.json"))


def test_agents_exit_when_chaos_is_killed(tmp_path: Path) -> None:
    proc = start_chaos(_long_experiment(tmp_path), tmp_path)
    try:
        _wait_for(lambda: _faults_in_place(tmp_path), 60, "the faults to be in place")
        pids = list(_state(tmp_path)["pids"])
        proc.send_signal(signal.SIGKILL)  # no rollback, no control: only the agents' own watch
        proc.wait(timeout=10)
        # The paused one cannot notice until it is continued; a supervisor of the
        # harness would, here the test does it for it.
        os.kill(_state(tmp_path)["agents"]["worker-3"]["pid"], signal.SIGCONT)
        _wait_for(lambda: not any(processes.alive(p) for p in pids), 15, "the agents to exit")
    finally:
        for pid in _state(tmp_path).get("pids", []):
            if processes.alive(pid):
                os.kill(pid, signal.SIGKILL)
