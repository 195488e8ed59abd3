"""Fault plans applied and cleared while an agent runs (harness.run.live_plans)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from harness.faults import AgentCrash, Fault, FaultPlan, Target, Trigger
from harness.faults.injector import make_response
from harness.history.recorder import Recorder
from harness.instrument.session import Call
from harness.run.live_plans import LivePlans


def _write(d: Path, name: str, *faults: Fault) -> None:
    tmp = d / f".{name}.tmp"
    tmp.write_text(FaultPlan(faults=list(faults)).model_dump_json())
    tmp.replace(d / f"{name}.json")


def _pause(n: int | None = None) -> Fault:
    return Fault(kind="pause", target=Target(agent="a"), trigger=Trigger(nth=n), params={"seconds": 1.5})


def _call(service: str = "dynamodb") -> Call:
    return Call("a", "a", service, "GetItem", {}, None, "t/k")


def test_plans_come_and_go_while_running(tmp_path: Path) -> None:
    live = LivePlans(tmp_path, Recorder(), interval=0)
    assert live.on_step("a") == 0
    _write(tmp_path, "p", _pause())
    assert live.on_step("a") == 1.5
    assert live.on_step("b") == 0  # aimed at agent a only
    (tmp_path / "p.json").unlink()
    assert live.on_step("a") == 0


def test_a_new_plan_leaves_the_counters_of_the_others_alone(tmp_path: Path) -> None:
    live = LivePlans(tmp_path, Recorder(), interval=0)
    _write(tmp_path, "third", _pause(3))
    assert [live.on_step("a"), live.on_step("a")] == [0, 0]
    _write(tmp_path, "other", Fault(kind="delay", target=Target(agent="nobody")))
    assert live.on_step("a") == 1.5  # still the third step of plan "third"


def test_a_partition_plan_fails_calls_with_a_connection_error(tmp_path: Path) -> None:
    rec = Recorder()
    live = LivePlans(tmp_path, rec, interval=0)
    _write(tmp_path, "cut", Fault(kind="partition", target=Target(agent="a", service="dynamodb")))
    with pytest.raises(EndpointConnectionError):
        live.intercept(_call(), lambda: pytest.fail("the call went through"))  # type: ignore[arg-type, return-value]
    answer = make_response({"Messages": []})
    assert live.intercept(_call("sqs"), lambda: answer) == answer
    assert [op.f for op in rec.ops] == ["fault.partition"]


def test_after_a_restart_the_crash_that_killed_it_does_not_fire_again(tmp_path: Path) -> None:
    crash = Fault(kind="crash", target=Target(agent="a"), trigger=Trigger(nth=1))
    _write(tmp_path, "old", crash)
    crashed: list[str] = []
    live = LivePlans(tmp_path, Recorder(), on_crash=crashed.append, skip_crash=True, interval=0)
    assert live.on_step("a") == 0 and crashed == []
    _write(tmp_path, "new", crash)  # a plan applied after the restart counts
    with pytest.raises(AgentCrash):
        live.on_step("a")
    assert crashed == ["a"]


def test_a_half_written_or_invalid_plan_is_ignored_until_fixed(tmp_path: Path) -> None:
    live = LivePlans(tmp_path, Recorder(), interval=0)
    (tmp_path / "bad.json").write_text('{"faults": [{"kind": "nonsense"}]}')
    assert live.on_step("a") == 0 and live.injectors == []
    _write(tmp_path, "bad", _pause())
    os.utime(tmp_path / "bad.json", ns=(1, 2))  # a different signature, as any rewrite gives
    assert live.on_step("a") == 1.5
