"""harness.strategies: what they draw is valid, and shrinks where it should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.faults.plan import CALL_KINDS, FaultPlan
from harness.strategies import AGENTS, KINDS, fault_plans, faults, messages, model_calls, schedules, workloads
from reference_system.messages import MESSAGE_TYPES

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_every_message_the_contract_allows_the_system_accepts(name: str) -> None:
    """The contract and the pydantic model agree: whatever the schema allows
    parses, and what the model writes back is allowed by the schema."""
    import jsonschema

    schema = json.loads((CONTRACTS / f"{name}.v1.json").read_text())
    model = MESSAGE_TYPES[name]

    @FAST
    @given(messages(name, directory=CONTRACTS))
    def check(msg: dict) -> None:
        parsed = model.model_validate(msg)
        jsonschema.validate(json.loads(parsed.model_dump_json()), schema)

    check()


def test_messages_take_a_schema_a_path_or_a_name() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}
    path = CONTRACTS / "progress.v1.json"

    @FAST
    @given(messages(schema), messages(path), messages("progress.v1", directory=CONTRACTS))
    def check(a: dict, b: dict, c: dict) -> None:
        assert a["n"] >= 3
        assert b["event"] in ("started", "finished") and c["attempt"] >= 1

    check()


@FAST
@given(fault_plans(max_faults=4))
def test_fault_plans_are_valid_documents(plan: FaultPlan) -> None:
    assert FaultPlan.parse(plan.model_dump_json()) == plan
    for f in plan.faults:
        assert f.kind in KINDS
        assert f.target.agent in AGENTS
        if f.kind == "model":
            assert f.target.operation in model_calls(f.target.agent)
        if f.kind in CALL_KINDS:
            assert f.target.service in ("sqs", "dynamodb", "sns")


@FAST
@given(faults(("throttle", "crash", "partition"), ("research-1",)))
def test_bounded_faults_fire_a_few_times_at_most(fault: object) -> None:
    t = fault.trigger  # type: ignore[attr-defined]
    assert t.nth is not None or (t.max_count is not None and t.max_count <= 3)


@FAST
@given(faults(("crash",), ("supervisor",), services=()))
def test_without_services_crashes_happen_between_steps(fault: object) -> None:
    target = fault.target  # type: ignore[attr-defined]
    assert (target.service, target.operation) == ("*", "*")


@FAST
@given(workloads(1, 3), schedules(max_length=5, max_choice=2))
def test_workloads_and_schedules(workload: list, schedule: list[int]) -> None:
    assert [r.request_id for r in workload] == [f"r{i}" for i in range(len(workload))]
    assert 1 <= len(workload) <= 3
    assert len(schedule) <= 5 and all(0 <= c <= 2 for c in schedule)


def test_everything_shrinks_to_the_simple_case() -> None:
    from hypothesis import find

    quick = settings(max_examples=10, database=None)
    assert find(fault_plans(), lambda p: True, settings=quick).faults == []
    assert find(schedules(), lambda s: True, settings=quick) == []
    (req,) = find(workloads(), lambda w: True, settings=quick)
    assert req.token_budget == 4000


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown or no fault kinds"):
        faults(("meteor",))
    with pytest.raises(ValueError):
        faults(())


@FAST
@given(st.data())
def test_model_faults_aim_at_the_calls_an_agent_makes(data: st.DataObject) -> None:
    f = data.draw(faults(("model",), ("write-2",), bounded=False))
    assert f.target.operation in ("write", "*")
