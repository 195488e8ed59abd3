"""Shrinking and replay: a failing property ends on a minimal fault plan and
schedule, says how to replay it, and the replay gives the same history."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.faults.defaults import default_plan
from harness.history.jsonl import write_history
from harness.sim.case import Case
from harness.suite import Property, PropertyFailed, cases, property_test
from harness.system import SystemRef

ROOT = Path(__file__).resolve().parents[2]
ACK_FIRST = SystemRef("", {"worker_loop_class": "tests.mutants.mutants:AckFirstLoop"})


def _bytes(ops: list) -> bytes:
    buf = io.BytesIO()
    write_history(ops, buf)
    return buf.getvalue()


def test_a_case_gives_the_same_history_every_time() -> None:
    case = Case.of(
        4,
        [{"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}],
        default_plan(4),
        [0, 3, 1, 2],
        workers=2,
    )
    first, _ = case.run()
    second, _ = Case.from_json(json.loads(case.dumps())).run()
    assert first.faults_injected > 0
    assert _bytes(first.ops) == _bytes(second.ops)


@pytest.mark.slow
def test_a_failing_property_shrinks_to_a_minimal_case_that_replays(tmp_path: Path) -> None:
    prop = Property(
        "no_subtask_is_lost",
        "every request ends although a worker's attempt may fail",
        lambda system: cases(system, max_requests=1, max_workers=1, max_faults=3),
    )
    test = property_test(
        prop, ACK_FIRST, max_examples=30, report_dir=tmp_path, derandomize=True, database=None
    )
    with pytest.raises(PropertyFailed) as info:
        test()
    err = info.value
    message = str(err)
    # shrunk: one fault, one request, the seeded schedule, seed 0
    assert len(err.case.plan.faults) == 1
    assert err.case.schedule == () and err.case.seed == 0 and len(err.case.workload) == 1
    assert "liveness: 1 violation" in message
    assert "plan:     {" in message and "(no faults)" not in message
    replay = message.rsplit("replay: ", 1)[1].strip()
    assert replay == f"python -m harness.sim replay {err.path}"

    # the replay command gives the same history as the failing run, byte for byte
    expected, _ = err.case.run()
    out = tmp_path / "replayed.jsonl"
    p = subprocess.run(
        [*replay.replace("python", sys.executable, 1).split(), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1 and "liveness" in p.stdout, p.stdout + p.stderr
    assert out.read_bytes() == _bytes(expected.ops)
    assert hashlib.sha256(out.read_bytes()).hexdigest()[:16] in p.stdout
