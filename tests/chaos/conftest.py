"""Running experiments with Chaos Toolkit's own ``chaos run`` CLI, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.chaos.experiments import HERE
from tests.localstack import shared

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = HERE  # the shipped experiments (package data; chaos/ links here)
CHAOS = Path(sys.executable).with_name("chaos")
#: Each experiment must finish well within this (seconds), broken variants included.
RUN_LIMIT = 100.0


def pytest_configure(config: pytest.Config) -> None:
    shared.register_marker(config)


def experiment_files() -> list[Path]:
    return sorted(EXPERIMENTS.glob("*.json"))


@dataclass
class ChaosRun:
    returncode: int
    journal: dict[str, Any]
    output: str
    out: Path
    seconds: float

    @property
    def runs(self) -> dict[str, Any]:
        """Outputs of the method's activities, by name."""
        return {r["activity"]["name"]: r.get("output") for r in self.journal["run"]}

    def after(self) -> dict[str, Any]:
        return dict(self.journal["steady_states"]["after"] or {})

    def probe_output(self, name: str, when: str = "after") -> Any:
        state = self.journal["steady_states"][when] or {}
        for p in state.get("probes", []):
            if p["activity"]["name"] == name:
                return p.get("output")
        raise KeyError(name)

    def cluster_state(self) -> dict[str, Any]:
        return dict(json.loads((self.out / "cluster.json").read_text()))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without harness or AWS targeting, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HARNESS_", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"))
    }
    env.update(extra)
    return env


def chaos_command(experiment: Path, tmp: Path, variables: dict[str, str] | None = None) -> list[str]:
    cmd = [str(CHAOS), "--log-file", str(tmp / "chaostoolkit.log"), "run"]
    cmd += ["--journal-path", str(tmp / "journal.json"), "--var", f"harness_out={tmp / 'out'}"]
    for k, v in (variables or {}).items():
        cmd += ["--var", f"{k}={v}"]
    return [*cmd, str(experiment)]


def start_chaos(
    experiment: Path, tmp: Path, env: dict[str, str] | None = None, variables: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``chaos run`` in its own process group, from the repository root (so the
    agents it starts can import ``tests.chaos.broken_workers``)."""
    return subprocess.Popen(
        chaos_command(experiment, tmp, variables),
        cwd=ROOT,
        env=env if env is not None else clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], tmp: Path, t0: float, timeout: float = RUN_LIMIT + 60) -> ChaosRun:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"chaos run took more than {timeout:.0f}s:\n{output[-3000:]}")
    journal_path = tmp / "journal.json"
    assert journal_path.exists(), f"no journal (exit {proc.returncode}):\n{output[-3000:]}"
    return ChaosRun(
        proc.returncode, json.loads(journal_path.read_text()), output, tmp / "out", time.monotonic() - t0
    )


@pytest.fixture
def run_chaos(tmp_path: Path) -> Iterator[Callable[..., ChaosRun]]:
    """Run ``chaos run EXPERIMENT`` to its end; returns its exit code, journal and output."""
    procs: list[subprocess.Popen[str]] = []

    def run(
        experiment: Path, env: dict[str, str] | None = None, variables: dict[str, str] | None = None
    ) -> ChaosRun:
        tmp = tmp_path / f"run{len(procs)}"
        tmp.mkdir()
        t0 = time.monotonic()
        proc = start_chaos(experiment, tmp, env, variables)
        procs.append(proc)
        return finish(proc, tmp, t0)

    yield run
    for p in procs:  # a failed assertion must not leave a run behind
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(timeout=60)


def assert_nothing_left(run: ChaosRun) -> None:
    from harness.run.cluster import leftovers

    state = run.cluster_state()
    assert state["stopped"], "the cluster was not stopped"
    assert leftovers(run.out / "cluster.json") == []
    assert state["paused"] == [] and state["partitioned"] == {} and state["plans"] == []
