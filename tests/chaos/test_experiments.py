"""Every experiment in chaos/, run as it is with `chaos run`: the reference
system passes each one, the faults really happen, and nothing is left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chaos.conftest import RUN_LIMIT, ChaosRun, assert_nothing_left, experiment_files

pytestmark = pytest.mark.slow

#: How many of its faults each experiment must have injected at least
#: (stale reads: none can reach the shipped system, which reads consistently).
MIN_FAULTS = {
    "worker-crash": 2,
    "worker-partition-dynamodb": 1,
    "duplicate-delivery-storm": 1,
    "throttling-storm": 1,
    "stale-reads": 0,
    "supervisor-restart": 2,
    "supervisor-send-throttled": 1,
}


def test_the_six_experiments_are_there() -> None:
    assert {p.stem for p in experiment_files()} >= set(MIN_FAULTS)


@pytest.mark.parametrize("experiment", experiment_files(), ids=lambda p: p.stem)
def test_reference_system_passes(experiment: Path, run_chaos: Callable[..., ChaosRun]) -> None:
    run = run_chaos(experiment)
    j = run.journal
    assert run.returncode == 0, run.output[-3000:]
    # `chaos run` exits 0 when the steady state fails before the method: read the journal.
    assert j["status"] == "completed" and not j["deviated"], run.output[-3000:]
    assert j["steady_states"]["before"]["steady_state_met"] is True
    assert j["steady_states"]["after"]["steady_state_met"] is True
    verdict = run.probe_output("every-invariant-holds")
    assert verdict["verdict"] == "holds" and verdict["settled"], verdict
    assert set(verdict["invariants"]) >= {
        "delivery",
        "idempotency",
        "ordering",
        "lost-update",
        "every request reached a terminal state",
        "no effect was performed twice",
    }
    counts = [v for k, v in run.runs.items() if k.endswith("-faults-injected")]
    assert len(counts) == 1 and counts[0] >= MIN_FAULTS.get(experiment.stem, 1)
    assert run.runs["requests-finish-after-the-fault"] == 0
    assert [r["status"] for r in j["rollbacks"]] == ["succeeded"] * len(j["experiment"]["rollbacks"])
    assert j["harness"]["leftovers"] == []
    assert_nothing_left(run)
    assert run.seconds < RUN_LIMIT
