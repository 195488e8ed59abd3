"""The supervisor's planning call is a model call like any other: recorded,
paid from the research share of the task's budget, and charged again when a
restart plans again."""

from __future__ import annotations

import harness
from harness.backends import Endpoints
from harness.checkers.budget import check_budget
from harness.history.recorder import Recorder
from reference_system import Supervisor
from reference_system.messages import BriefRequest
from reference_system.supervisor import BUDGET_SHARES, PLAN_TOKENS
from tests.conftest import build_system


def _tokens(op: object) -> int:
    return int(op.value["input_tokens"]) + int(op.value["output_tokens"])  # type: ignore[attr-defined]


def test_planning_is_recorded_and_paid_from_the_research_share(endpoints: Endpoints) -> None:
    rec = Recorder()
    system = build_system(endpoints, rec)
    system.supervisor.submit(BriefRequest(request_id="t1", topic="heat pumps", token_budget=4000))
    system.run(timeout=60)

    (invoke,) = [o for o in rec.ops if o.f == "model.complete" and o.key == "t1/plan" and o.type == "invoke"]
    (plan,) = [o for o in rec.ops if o.f == "model.complete" and o.key == "t1/plan" and o.type == "ok"]
    research = int(4000 * BUDGET_SHARES["research"])
    assert invoke.process == "supervisor"
    assert invoke.value["task_id"] == "t1" and invoke.value["kind"] == "plan"
    assert invoke.value["budget"] == research and 0 < invoke.value["max_tokens"] <= PLAN_TOKENS
    subtasks = [
        o.value["budget"]
        for o in rec.ops
        if o.f == "model.complete" and o.type == "invoke" and "/research/" in o.key
    ]
    assert subtasks and sum(subtasks) <= research - _tokens(plan)
    assert sum(subtasks) > research - _tokens(plan) - len(subtasks)  # what is left is shared out
    verdict = check_budget(rec.ops)
    assert verdict.valid is True, verdict
    oks = [o for o in rec.ops if o.f == "model.complete" and o.type == "ok"]
    assert verdict.stats["tokens"] == sum(_tokens(o) for o in oks)  # the plan counts towards the task
    assert verdict.stats["model_calls"] == len(oks) == len(subtasks) + 3


def test_a_budget_too_small_to_plan_fails_the_task_before_dispatch(endpoints: Endpoints) -> None:
    rec = Recorder()
    system = build_system(endpoints, rec)
    system.supervisor.submit(BriefRequest(request_id="t1", topic="heat pumps", token_budget=10))
    system.run(timeout=30)

    path = [o.value["to"] for o in rec.ops if o.f == "state.transition" and o.type == "ok" and o.key == "t1"]
    assert path == ["failed"]
    ddb = harness.session(endpoints, "probe").client("dynamodb")
    item = ddb.get_item(TableName=system.resources.tasks_table, Key={"pk": {"S": "t1"}}, ConsistentRead=True)
    assert "token budget exceeded" in item["Item"]["reason"]["S"]
    assert not [o for o in rec.ops if o.f == "sqs.SendMessage" and "research" in str(o.key)]
    assert check_budget(rec.ops).valid is True


def test_planning_again_after_a_restart_is_charged_again(endpoints: Endpoints) -> None:
    rec = Recorder()
    system = build_system(endpoints, rec)
    system.supervisor.submit(BriefRequest(request_id="t1", topic="heat pumps", token_budget=4000))
    task = system.supervisor.store.get("t1")
    assert task is not None
    research = int(4000 * BUDGET_SHARES["research"])

    first = system.supervisor._plan(task)
    # It plans again and dies between holding tokens and settling them.
    assert system.supervisor.ledger.hold("t1/plan", 70, research)
    restarted = Supervisor(
        harness.session(endpoints, "supervisor", rec), system.resources, system.supervisor.model
    )
    second = restarted._plan(task)  # not blocked by the dead incarnation's hold
    assert first is not None and second is not None
    plans = [_tokens(o) for o in rec.ops if o.f == "model.complete" and o.key == "t1/plan" and o.type == "ok"]
    assert len(plans) == 2
    assert first[1] == research - plans[0]
    assert second[1] == research - plans[0] - plans[1]
    assert first[0] == second[0]  # the scripted model plans alike
