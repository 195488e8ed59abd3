"""The choreography example: Lambda handlers on the harness's SQS trigger, a
plain run, zero false alarms under the default fault plan (aimed at its
functions) over 20 seeds, and every planted bug caught by its checker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from examples.choreography.mutants import MUTANTS, SYSTEM
from examples.choreography.system import fault_plan, requests
from examples.suite_run import run, suite
from harness.faults.defaults import default_plan
from harness.lambdas import SqsTrigger
from harness.sim.checks import DEFAULT_CHECKERS, check_run, failures
from harness.sim.config import SimConfig
from harness.sim.simulation import Simulation
from harness.sim.simulator import simulate
from harness.system import SystemRef, load_system


def _verdicts(result: Any) -> list[Any]:
    specs = load_system(SYSTEM).checker_specs()
    return check_run(result.ops, result.requests, result.task_states, DEFAULT_CHECKERS, specs=specs)


def test_the_declarations_reach_the_checkers() -> None:
    specs = load_system(SYSTEM).checker_specs()
    assert specs["liveness"] == {"terminal": ["done"]}
    assert specs["ordering"]["initial_state"] == "placed"
    assert specs["lost-update"] == {"tables": ["*-orders", "*-stock"]}


def test_every_agent_is_a_lambda_function_behind_an_sqs_trigger() -> None:
    with Simulation(SimConfig(system=SYSTEM, requests=1, seed=0)) as sim:
        names = sim.agent_names
        assert names == ["intake-1", "pricing-1", "stock-1", "fulfil-1"]
        assert all(isinstance(sim.agent(n), SqsTrigger) for n in names)


def test_a_plain_run_finishes_with_one_charge_per_order_and_rev_as_the_version() -> None:
    r = simulate(SimConfig(system=SYSTEM, requests=3, seed=2, plan=None, workers=2))
    assert r.stopped == "finished"
    assert r.task_states == {q["order_id"]: "done" for q in requests(3, 2)}
    charges = sorted(op.key for op in r.ops if op.f == "effect.charge" and op.type == "ok")
    assert charges == sorted(q["order_id"] for q in requests(3, 2))
    lost = next(v for v in _verdicts(r) if v.checker == "lost-update")
    assert lost.stats["acknowledged_writes"] > 0 and lost.stats["unversioned_writes"] == 0
    assert any(op.f == "lambda.invoke" for op in r.ops)
    assert failures(_verdicts(r)) == []


def test_the_plan_aims_the_supervisor_pause_at_a_function() -> None:
    default, ours = default_plan(3), fault_plan(3)
    assert [f.kind for f in default.faults] == [f.kind for f in ours.faults]
    changed = {f.id: g.target.agent for f, g in zip(default.faults, ours.faults, strict=True) if f != g}
    assert changed == {"supervisor-pause": "stock-1"}


def test_no_false_alarms_over_20_seeds_under_the_default_faults() -> None:
    t0 = time.perf_counter()
    injected = 0
    for seed in range(20):
        r = simulate(
            SimConfig(system=SYSTEM, requests=2 + seed % 2, seed=seed, plan=fault_plan(seed), workers=2)
        )
        bad = failures(_verdicts(r))
        assert bad == [], f"seed {seed}: {[(v.checker, v.anomalies[:1]) for v in bad]}"
        assert r.stopped == "finished", f"seed {seed}: {r.stopped}"
        injected += r.faults_injected
    assert injected >= 20
    assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_mutant_is_caught_by_its_checker(name: str, tmp_path: Path) -> None:
    m = MUTANTS[name]
    row = run(name, SystemRef(SYSTEM, dict(m.options)), tmp_path)
    assert row.caught_by is not None, f"{name} survived {row.examples_total} examples"
    assert m.checker in row.checkers, row.verdict


def test_the_correct_system_passes_the_same_examples(tmp_path: Path) -> None:
    ref = SystemRef(SYSTEM)
    row = run("correct", ref, tmp_path)
    assert row.caught_by is None, row.verdict
    assert row.examples_total == sum(n for _, n in suite(ref))
