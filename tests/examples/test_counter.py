"""The counter example: its workload, a plain run, zero false alarms under the
default fault plan (aimed at its agents) over 20 seeds, every planted bug
caught by the checker that names it, and the property suite."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from examples.counter.mutants import MUTANTS, SYSTEM
from examples.counter.plan import fault_plan
from examples.counter.system import requests, system
from examples.suite_run import run, suite
from harness.faults.defaults import default_plan
from harness.sim.checks import DEFAULT_CHECKERS, check_run, failures
from harness.sim.config import SimConfig
from harness.sim.simulator import simulate
from harness.suite import SystemProperties
from harness.system import SystemRef, load_system


def _verdicts(result: Any) -> list[Any]:
    specs = load_system(SYSTEM).checker_specs()
    return check_run(result.ops, result.requests, result.task_states, DEFAULT_CHECKERS, specs=specs)


def test_the_workload_is_deterministic_and_mixed() -> None:
    assert requests(30, 7) == requests(30, 7)
    assert requests(30, 7) != requests(30, 8)
    reqs = requests(30, 7)
    assert len({r["request_id"] for r in reqs}) == 30
    assert {r["amount"] > 0 for r in reqs} == {True, False}  # some the intake rejects


def test_the_system_is_loaded_by_import_path() -> None:
    sut = load_system(SYSTEM)
    assert sut is system or sut.name == "counter"
    assert [a.name for a in sut.agent_specs(None, {"workers": 2})] == ["intake-1", "counter-1", "counter-2"]
    specs = sut.checker_specs()
    assert specs["liveness"] == {"terminal": ["applied", "rejected"]}
    assert specs["lost-update"] == {"tables": ["*-counters"]}


def test_a_plain_run_finishes_and_adds_up() -> None:
    r = simulate(SimConfig(system=SYSTEM, requests=6, seed=3, plan=None, workers=2))
    assert r.stopped == "finished"
    wanted = {q["request_id"]: ("applied" if q["amount"] > 0 else "rejected") for q in requests(6, 3)}
    assert r.task_states == wanted
    applied = [op for op in r.ops if op.f == "effect.increment" and op.type == "ok"]
    assert sorted(op.key for op in applied) == sorted(k for k, s in wanted.items() if s == "applied")
    assert failures(_verdicts(r)) == []


def test_the_same_seed_gives_the_same_history() -> None:
    def shape(seed: int) -> list[tuple[Any, ...]]:
        r = simulate(SimConfig(system=SYSTEM, requests=3, seed=seed, plan=fault_plan(seed), workers=2))
        return [(op.process, op.type, op.f, str(op.key)) for op in r.ops]

    assert shape(5) == shape(5)
    assert shape(5) != shape(6)


def test_the_plan_aims_the_supervisor_pause_at_the_intake() -> None:
    default, ours = default_plan(4), fault_plan(4)
    assert [f.kind for f in default.faults] == [f.kind for f in ours.faults]
    assert {f.id: f.target.agent for f in ours.faults}["supervisor-pause"] == "intake-1"
    changed = [f.id for f, g in zip(default.faults, ours.faults, strict=True) if f != g]
    assert changed == ["supervisor-pause"]


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
    assert injected >= 20  # the plan did reach the system
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


@pytest.fixture
def harness_config(harness_config: Any) -> Any:
    return dataclasses.replace(harness_config, system=SystemRef(SYSTEM))


class TestCounterProperties(SystemProperties):
    """The suite as pytest runs it, aimed at the counter (split brain does not apply)."""
