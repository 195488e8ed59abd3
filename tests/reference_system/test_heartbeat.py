"""A slow handler and the visibility timeout: without a heartbeat, a second
replica is handed the subtask while the first still works on it; with
``ctx.extend_visibility`` it is not."""

from __future__ import annotations

from typing import Any

from harness.faults.plan import Fault, FaultPlan, Target, Trigger
from harness.sim.config import SimConfig
from harness.sim.simulator import simulate
from reference_system.messages import BriefRequest


def _write_receives(impl: str | None) -> tuple[list[str], Any]:
    # write-1's first budget hold takes 12 s: past the 5 s visibility timeout.
    slow = Fault(
        kind="delay",
        target=Target(agent="write-1", service="dynamodb", operation="UpdateItem"),
        trigger=Trigger(nth=1),
        params={"seconds": 12.0},
    )
    options: dict[str, Any] = {"impls": {"write": impl}} if impl else {}
    result = simulate(
        SimConfig(
            seed=3,
            workers=2,
            workload=[BriefRequest(request_id="r0", topic="heat pumps", token_budget=4000)],
            plan=FaultPlan(seed=3, faults=[slow]),
            options=options,
            max_virtual_seconds=120.0,
        )
    )
    agents = [
        op.meta.get("agent")
        for op in result.ops
        if op.f == "sqs.ReceiveMessage"
        and op.type == "ok"
        and str(op.key).endswith("-write")
        and (op.value or {}).get("messages")
    ]
    return agents, result


def test_a_slow_handler_without_a_heartbeat_is_joined_by_another_replica() -> None:
    agents, result = _write_receives(None)
    assert "write-1" in agents and "write-2" in agents, agents
    assert set(result.task_states.values()) == {"done"}  # the system stays correct, at twice the work


def test_a_slow_handler_with_a_heartbeat_keeps_its_subtask() -> None:
    agents, result = _write_receives("tests.mutants.worker_mutants:HeartbeatWriter")
    assert agents.count("write-1") == 1 and "write-2" not in agents, agents
    assert set(result.task_states.values()) == {"done"}
