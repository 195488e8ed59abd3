"""The ``sim`` fixture: a user's own worker, plugged in by import path, in the
deterministic simulator; a failure names the case and replays byte for byte."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

MY_WORKERS = """
from reference_system.workers import ResearchWorker


class FetchTwice(ResearchWorker):
    '''Fetches its sources before asking the model, with no idempotency key.'''

    def handle(self, task, ctx):
        subtopic = task.inputs.get("subtopic", task.topic)
        ctx.recorder.run("effect.fetch", task.subtask_id, lambda: None)
        c = ctx.complete(
            "research", f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        return {"facts": list(c.output["facts"])}
"""

SIM_TEST = """
import pytest

TIMEOUT_ONCE = {"faults": [{
    "kind": "model",
    "target": {"agent": "research-1", "service": "model", "operation": "research"},
    "trigger": {"nth": 1},
    "params": {"mode": "timeout"},
}]}


@pytest.mark.harness_chaos(plan=TIMEOUT_ONCE)
def test_research_survives_a_model_timeout(sim):
    result = sim(requests=1)
    assert set(result.task_states.values()) <= {"done", "failed"}
"""


def test_the_reference_system_passes_in_the_simulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sim=SIM_TEST)
    report = pytester.path / "report"
    r = pytester.runpytest_subprocess("--harness-seed", "3", "--harness-report", str(report))
    r.assert_outcomes(passed=1)
    (run,) = list(report.glob("test_sim.py_*"))
    assert {p.name for p in run.iterdir()} >= {"sim-0.jsonl", "sim-0.verdicts.json", "sim-0.case.json"}


def test_a_users_worker_fails_readably_and_the_failure_replays(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_workers=MY_WORKERS, test_sim=SIM_TEST)
    report = pytester.path / "report"
    r = pytester.runpytest_subprocess(
        "--harness-seed",
        "3",
        "--harness-worker",
        "research=my_workers:FetchTwice",
        "--harness-report",
        str(report),
    )
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(
        [
            "harness: a checked property does not hold in simulated run 1 of this test",
            "idempotency: 1 violation",
            "  - duplicate_effect: effect.fetch for 'r3-0000/research/*' happened 2 times*",
            "      op * research-1 ok effect.fetch r3-0000/research/*",
            "seed:     3",
            "workload: r3-0000 (*, budget *)",
            "schedule: []",
            "system:   reference*research*my_workers:FetchTwice*",
            'plan:     {"kind": "model", "params": {"mode": "timeout"}, *',
            "run:      ended finished after * virtual seconds",
            "replay: python -m harness.sim replay *",
        ]
    )
    m = re.search(r"^replay: python -m harness\.sim replay (\S+)$", r.stdout.str(), re.M)
    assert m is not None
    out = pytester.path / "replayed.jsonl"
    p = subprocess.run(
        [sys.executable, "-m", "harness.sim", "replay", m.group(1), "--out", str(out)],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1, p.stderr
    assert "duplicate_effect" in p.stdout and p.stdout.rstrip().endswith("FAIL")
    (run,) = list(report.glob("test_sim.py_*"))
    assert out.read_bytes() == (run / "sim-0.jsonl").read_bytes()
