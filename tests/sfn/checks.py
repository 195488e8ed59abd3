"""Assertions shared by the Step Functions tests on every backend."""

from __future__ import annotations

from collections import Counter
from typing import Any

import harness
from harness.checkers import check
from reference_system.messages import BriefRequest
from reference_system.store import from_av
from reference_system.system import DECLARATIONS
from tests.conftest import System

#: Checkers that must hold on a healthy run. Delivery is judged apart: the
#: state machine sends the subtask messages (and SNS the audit ones) outside
#: the recorded sessions, so their receipt is "unexpected" by construction.
MUST_HOLD = ("idempotency", "ordering", "lost-update", "session", "budget")


def items(system: System) -> dict[str, dict[str, Any]]:
    ddb = harness.session(system.endpoints, "probe").client("dynamodb")
    return {
        it["pk"]["S"]: from_av(it)
        for it in ddb.scan(TableName=system.resources.tasks_table, ConsistentRead=True)["Items"]
    }


def execution_events(system: System, task_id: str) -> list[str]:
    sfn = harness.session(system.endpoints, "probe").client("stepfunctions")
    arn = system.supervisor.execution_arn(task_id)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["type"] for e in events]


def run_healthy(system: System, n: int = 3, timeout: float = 120.0) -> None:
    """``n`` requests run to a stored brief, and every checker holds."""
    reqs = [BriefRequest(request_id=f"s{i}", topic="heat pumps", token_budget=4000) for i in range(n)]
    for r in reqs:
        system.supervisor.submit(r)
    system.run(timeout=timeout)
    found = items(system)
    assert {r.request_id: found[r.request_id]["state"] for r in reqs} == {r.request_id: "done" for r in reqs}
    subtasks = [v for v in found.values() if v["kind"] == "subtask"]
    assert subtasks and {s["state"] for s in subtasks} == {"done"}
    ddb = harness.session(system.endpoints, "probe").client("dynamodb")
    assert len(ddb.scan(TableName=system.resources.briefs_table)["Items"]) == n
    assert len(system.effects("publish")) == n
    effects = Counter((o.f, o.key) for o in system.effects())
    assert max(effects.values()) == 1
    for r in reqs:
        path = [
            o.value["to"]
            for o in system.recorder.ops
            if o.f == "state.transition" and o.type == "ok" and o.key == r.request_id
        ]
        assert path == ["dispatched", "running", "done"]
    verdicts = dict(
        zip(MUST_HOLD, check(system.recorder.ops, MUST_HOLD, specs=DECLARATIONS.checker_specs()), strict=True)
    )
    assert {k: v.valid for k, v in verdicts.items()} == dict.fromkeys(MUST_HOLD, True)
    (delivery,) = check(system.recorder.ops, ["delivery"])
    assert {a.kind for a in delivery.anomalies} <= {"unexpected", "duplicated"}
