"""Proof that the experiments bite: deliberately broken variants of the
reference system fail the same experiments it passes, and the run names the
invariant they violate (in `chaos run`'s output and in the journal)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.chaos.broken_workers import EARLY_ACK_BREAKS, NON_IDEMPOTENT_BREAKS
from tests.chaos.conftest import EXPERIMENTS, RUN_LIMIT, ChaosRun, assert_nothing_left, clean_env

pytestmark = pytest.mark.slow

CASES = [
    pytest.param(
        "worker-crash",
        {"HARNESS_WORKER": "research=tests.chaos.broken_workers:EarlyAckLoop"},
        [EARLY_ACK_BREAKS],
        id="deletes-before-processing",
    ),
    pytest.param(
        "duplicate-delivery-storm",
        {"HARNESS_WORKER": "research=tests.chaos.broken_workers:NonIdempotentResearch"},
        [NON_IDEMPOTENT_BREAKS, "idempotency"],
        id="effect-not-idempotent",
    ),
    pytest.param(
        "stale-reads",
        {"HARNESS_SUPERVISOR_READS": "eventual"},
        ["session"],
        id="supervisor-reads-eventually-consistent",
    ),
]


@pytest.mark.parametrize(("experiment", "env", "violated"), CASES)
def test_broken_variant_is_caught(
    experiment: str, env: dict[str, str], violated: list[str], run_chaos: Callable[..., ChaosRun]
) -> None:
    run = run_chaos(EXPERIMENTS / f"{experiment}.json", env=clean_env(**env))
    j = run.journal
    assert j["steady_states"]["before"]["steady_state_met"] is True, "broken only under faults"
    assert j["deviated"] is True and run.returncode == 1, run.output[-3000:]
    verdict = run.probe_output("every-invariant-holds")
    assert verdict["verdict"] == "violated"
    for name in violated:
        assert verdict["invariants"][name] == "violated", verdict
        assert any(line.startswith(f"{name}:") for line in verdict["violated"]), verdict["violated"]
        assert f"invariant violated: {name}:" in run.output
    assert_nothing_left(run)
    assert run.seconds < RUN_LIMIT
