"""The default plan: the reference system, driven by the simulator under it,
still finishes with its invariants holding, and the plan's faults do fire."""

from __future__ import annotations

from harness.faults import CALL_KINDS, NEMESIS, PROCESS_KINDS, FaultPlan
from harness.faults.defaults import default_plan
from harness.sim import SimConfig, simulate


def test_default_plan_is_valid_and_seeded() -> None:
    plan = default_plan(7)
    assert plan.seed == 7 and default_plan(7) == plan and default_plan(8) != plan
    assert FaultPlan.parse(plan.model_dump_json()) == plan
    names = [n for n, _ in plan.named()]
    assert len(set(names)) == len(names)
    kinds = {f.kind for f in plan.faults}
    # It covers AWS-call faults, process faults and model faults.
    assert kinds & CALL_KINDS and kinds & PROCESS_KINDS and "model" in kinds


def test_reference_system_passes_under_the_default_plan() -> None:
    seed = 3
    r = simulate(SimConfig(seed=seed, requests=4, plan=default_plan(seed)))
    assert r.ok, [str(i) for i in r.invariants]
    assert r.stopped == "finished"
    nemesis = [o for o in r.ops if o.process == NEMESIS]
    assert r.faults_injected == len(nemesis) > 0
    assert all(o.type == "info" and o.f.startswith("fault.") for o in nemesis)
    plan_kinds = {f.kind for f in default_plan(seed).faults}
    assert {o.f.removeprefix("fault.") for o in nemesis} <= plan_kinds
    # Faults that fire by count (not by chance) fire in every run: the crash of
    # a worker's second PutItem, and the supervisor's pause at its 20th step.
    assert any(o.f == "fault.crash" for o in nemesis)
    assert any(o.f == "fault.pause" for o in nemesis)
