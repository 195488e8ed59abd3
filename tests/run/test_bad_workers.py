"""A worker that is not one, named to ``harness run`` (``--worker``,
``--option impls=...``) or in a case file given to ``python -m harness.sim
replay``, is one line on stderr and exit 2, before anything runs; and so
are bad scales of a simulated run (``--workers``, ``--supervisors``...)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.sim.case import Case

BAD_WORKERS = """
from reference_system.workers import ResearchWorker


class NoCapability:
    def handle(self, task, ctx):
        return {}


class NoHandle:
    capability = "research"


def a_function():
    return ResearchWorker()


Research = ResearchWorker
"""

#: (spec, what the one line says).
WRONG = [
    ("bad_workers:NoCapability", "it has no 'capability' attribute"),
    ("bad_workers:NoHandle", "it has no 'handle' method"),
    ("bad_workers:a_function", "it is a function, not a class"),
    ("bad_workers:Missing", "module 'bad_workers' has no 'Missing'"),
    ("raises_on_import:Worker", "RuntimeError: no network here"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bad_workers.py").write_text(BAD_WORKERS)
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('no network here')\n")
    return tmp_path


def _one_line_exit_2(cwd: Path, *args: str) -> str:
    p = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.parametrize(("spec", "message"), WRONG)
def test_harness_run_worker_flag(project: Path, spec: str, message: str) -> None:
    line = _one_line_exit_2(
        project, "-m", "harness.cli", "run", "--sim", "--requests", "1", "--worker", f"research={spec}"
    )
    assert line.startswith("harness run: error: worker research: ") and message in line


@pytest.mark.parametrize(("spec", "message"), WRONG[:2] + WRONG[-1:])
def test_harness_run_impls_option(project: Path, spec: str, message: str) -> None:
    impls = json.dumps({"research": spec})
    for mode in (["--sim"], []):  # checked before the simulator or any agent process starts
        line = _one_line_exit_2(project, "-m", "harness.cli", "run", *mode, "--option", f"impls={impls}")
        assert message in line


@pytest.mark.parametrize(("spec", "message"), WRONG)
def test_replaying_a_case_naming_a_bad_worker(project: Path, spec: str, message: str) -> None:
    case = Case.of(1, [], options={"impls": {"research": spec}})
    path = case.save(project)
    line = _one_line_exit_2(project, "-m", "harness.sim", "replay", str(path))
    assert (
        line.startswith(f"harness.sim: cannot build the system of {path}: worker research: ")
        and message in line
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sim", "--supervisors", "0"], "--supervisors must be at least 1"),
        (["--sim", "--workers", "0"], "--workers must be at least 1"),
        (["--sim", "--supervisors", "two"], "invalid int value"),
        (["--sim", "--visibility-timeout", "-1"], "--visibility-timeout must be from 0 to 43200"),
        (["--sim", "--max-virtual-seconds", "0"], "--max-virtual-seconds must be positive"),
        (["--max-virtual-seconds", "60"], "--max-virtual-seconds needs --sim"),
        (["--sim", "--worker", "research"], "expected capability=pkg.module:Class"),
        (["--sim", "--worker", "write=bad_workers:Research"], "serves 'research', not 'write'"),
        (["--sim", "--option", "impls=research"], "--option impls must be a JSON object"),
        (
            ["--sim", "--system", "examples.counter.system:system", "--supervisors", "2"],
            "system counter has no 'supervisors' option",
        ),
    ],
)
def test_bad_knobs_of_harness_run(project: Path, args: list[str], message: str) -> None:
    root = Path(__file__).resolve().parents[2]  # where examples/ is
    cwd = root if "--system" in args else project
    assert message in _one_line_exit_2(cwd, "-m", "harness.cli", "run", "--requests", "1", *args)


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_an_out_that_cannot_hold_a_run_is_one_line_and_exit_2(kind: str, tmp_path: Path) -> None:
    import os

    if kind == "file":
        out = tmp_path / "taken"
        out.write_text("not a directory")
    else:
        if os.geteuid() == 0:
            out = Path("/proc/harness-run-out")  # not writable, even by root
        else:
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o500)
            out = locked / "run"
    line = _one_line_exit_2(
        tmp_path, "-m", "harness.cli", "run", "--sim", "--requests", "1", "--out", str(out)
    )
    assert "--out" in line, line


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(value: str, tmp_path: Path) -> None:
    line = _one_line_exit_2(
        tmp_path, "-m", "harness.cli", "run", "--sim", "--requests", "1", "--timeout", value
    )
    assert "--timeout" in line, line
