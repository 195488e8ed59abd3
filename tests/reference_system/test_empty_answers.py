"""A worker never passes on an empty model answer (the shape asked for, with
nothing in it): its own contract refuses it as the auditors do, so the
subtask is retried and, when every answer is empty, the task fails cleanly,
with no finding against the output."""

from __future__ import annotations

import pytest

from harness.sim.case import Case
from harness.sim.checks import failures

WL = [{"request_id": "r0", "token_budget": 4000, "topic": "tides"}]


def _case(agent: str, **trigger: int) -> Case:
    fault = {"kind": "model", "target": {"agent": agent}, "params": {"mode": "empty"}}
    if trigger:
        fault["trigger"] = trigger
    return Case.from_json({"seed": 1, "workload": WL, "plan": {"faults": [fault]}})


@pytest.mark.parametrize("agent", ["research-1", "write-1"])
def test_every_answer_empty_fails_the_task_cleanly(agent: str) -> None:
    result, verdicts = _case(agent).run()
    assert result.task_states == {"r0": "failed"}
    assert not failures(verdicts)
    outputs = [
        op for op in result.ops if op.f == "agent.output" and op.process.startswith(agent.split("-")[0])
    ]
    assert not outputs  # nothing empty was passed on


def test_one_empty_answer_is_retried() -> None:
    result, verdicts = _case("research-1", nth=1).run()
    assert result.task_states == {"r0": "done"}
    assert not failures(verdicts)
