"""Faults on agents (crash, pause, clock skew) and on their language model."""

from __future__ import annotations

import pytest

from harness.faults import (
    AgentCrash,
    Fault,
    FaultInjector,
    FaultPlan,
    FaultyModel,
    ModelTimeout,
    Target,
    Trigger,
)
from harness.history.recorder import Recorder
from reference_system.llm import ScriptedModel

from .conftest import VClock, nemesis_ops


def _injector(*faults: Fault, seed: int = 0, recorder: Recorder | None = None, **kw: object) -> FaultInjector:
    return FaultInjector(
        FaultPlan(seed=seed, faults=list(faults)), recorder if recorder is not None else Recorder(), **kw
    )  # type: ignore[arg-type]


# -- crash at a step ------------------------------------------------------------------


def test_crash_at_the_nth_step_of_the_targeted_agent() -> None:
    rec, crashed = Recorder(), []
    inj = _injector(
        Fault(kind="crash", target=Target(agent="research-1"), trigger=Trigger(nth=3)),
        recorder=rec,
        on_crash=crashed.append,
    )
    assert inj.on_step("research-1") == 0.0
    assert inj.on_step("write-1") == 0.0  # not counted: another agent
    assert inj.on_step("research-1") == 0.0
    with pytest.raises(AgentCrash) as e:
        inj.on_step("research-1")
    assert e.value.agent == "research-1"
    assert crashed == ["research-1"]
    # nth: once only.
    for _ in range(5):
        assert inj.on_step("research-1") == 0.0
    (n,) = nemesis_ops(rec, "crash")
    assert n.key == "research-1" and n.value == {"fault": "crash#0", "agent": "research-1"}


def test_crash_without_on_crash_still_raises() -> None:
    inj = _injector(Fault(kind="crash", target=Target(agent="a")))
    with pytest.raises(AgentCrash):
        inj.on_step("a")


def test_restart_delay() -> None:
    inj = _injector(
        Fault(kind="crash", target=Target(agent="never"), params={"restart_after": None}),
        Fault(kind="crash", target=Target(agent="soon"), params={"restart_after": 0.5}),
        Fault(kind="crash", target=Target(agent="default")),
        Fault(
            kind="crash",
            target=Target(agent="call", service="dynamodb", operation="PutItem"),
            params={"restart_after": 2.0},
        ),  # fmt: skip
    )
    assert inj.restart_delay("never") is None
    assert inj.restart_delay("soon") == 0.5
    assert inj.restart_delay("default") == 5.0
    # A crash aimed at an agent's calls still says when that agent comes back.
    assert inj.restart_delay("call") == 2.0
    assert inj.restart_delay("untargeted") == 5.0


# -- pause ------------------------------------------------------------------------------


def test_pause_returns_its_seconds_on_the_steps_it_fires() -> None:
    rec = Recorder()
    inj = _injector(
        Fault(
            kind="pause", target=Target(agent="supervisor"), trigger=Trigger(every=2), params={"seconds": 1.5}
        ),
        recorder=rec,
    )
    assert [inj.on_step("supervisor") for _ in range(4)] == [0.0, 1.5, 0.0, 1.5]
    assert [inj.on_step("worker") for _ in range(4)] == [0.0] * 4
    ns = nemesis_ops(rec, "pause")
    assert [n.value for n in ns] == [{"fault": "pause#0", "agent": "supervisor", "seconds": 1.5}] * 2


def test_pauses_that_fire_together_add_up() -> None:
    inj = _injector(
        Fault(kind="pause", params={"seconds": 1.0}),
        Fault(kind="pause", target=Target(agent="a"), params={"seconds": 0.25}),
    )
    assert inj.on_step("a") == 1.25
    assert inj.on_step("b") == 1.0


def test_pause_does_not_crash_and_crash_wins_over_pause() -> None:
    inj = _injector(Fault(kind="pause", params={"seconds": 3.0}), Fault(kind="crash", trigger=Trigger(nth=2)))
    assert inj.on_step("a") == 3.0
    with pytest.raises(AgentCrash):
        inj.on_step("a")


# -- clock skew -------------------------------------------------------------------------


def test_clock_skew_sums_the_skews_aimed_at_the_agent_and_is_recorded_once() -> None:
    rec = Recorder()
    inj = _injector(
        Fault(kind="clock_skew", target=Target(agent="supervisor"), params={"seconds": -30}),
        Fault(kind="clock_skew", target=Target(agent="super*"), params={"seconds": 5}),
        recorder=rec,
    )
    for _ in range(3):
        assert inj.clock_skew("supervisor") == -25.0
    assert inj.clock_skew("worker-1") == 0.0
    (n,) = nemesis_ops(rec, "clock_skew")
    assert n.key == "supervisor" and n.value == {"agent": "supervisor", "seconds": -25.0}


# -- model faults -------------------------------------------------------------------------

CTX = {"topic": "solar panels", "subtopic": "costs", "subtask_id": "t1-0"}


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def _model(rec: Recorder, mode: str, **trigger: int) -> tuple[FaultyModel, ScriptedModel]:
    inner = ScriptedModel(seed=1)
    inj = _injector(
        Fault(
            kind="model",
            target=Target(agent="research-1", operation="research"),
            trigger=Trigger(**trigger),
            params={"mode": mode},
        ),  # fmt: skip
        recorder=rec,
    )
    return FaultyModel(inner, inj, "research-1"), inner


def test_model_malformed_output(rec: Recorder) -> None:
    model, inner = _model(rec, "malformed")
    good = ScriptedModel(seed=1).complete("research", "p", CTX)
    bad = model.complete("research", "p", CTX)
    assert bad.output != good.output
    assert "findings" not in bad.output and bad.output == {"unparseable": "<<truncated json"}
    assert (bad.input_tokens, bad.output_tokens) == (good.input_tokens, good.output_tokens)
    assert model.name == inner.name == "scripted-1"
    (n,) = nemesis_ops(rec, "model")
    assert n.key == "research-1:model.research" and n.value == {"fault": "model#0", "mode": "malformed"}


def test_model_timeout_raises_without_calling_the_model(rec: Recorder) -> None:
    model, inner = _model(rec, "timeout")
    with pytest.raises(ModelTimeout):
        model.complete("research", "p", CTX)
    assert isinstance(ModelTimeout("x"), TimeoutError)
    assert inner.calls == 0
    assert nemesis_ops(rec, "model")[0].value["mode"] == "timeout"


def test_model_overlong_output(rec: Recorder) -> None:
    model, _ = _model(rec, "overlong")
    good = ScriptedModel(seed=1).complete("research", "p", CTX)
    long = model.complete("research", "p", CTX)
    assert long.output == good.output
    assert long.output_tokens == 50 * good.output_tokens


def test_model_faults_only_for_the_targeted_agent_and_kind(rec: Recorder) -> None:
    inner = ScriptedModel(seed=1)
    inj = _injector(Fault(kind="model", target=Target(agent="research-1", operation="research"),
                          params={"mode": "timeout"}), recorder=rec)  # fmt: skip
    other_agent = FaultyModel(inner, inj, "research-2")
    assert other_agent.complete("research", "p", CTX).output == inner.complete("research", "p", CTX).output
    plan_ctx = {"topic": "solar panels"}
    assert FaultyModel(inner, inj, "research-1").complete("plan", "p", plan_ctx).output
    assert nemesis_ops(rec) == []


def test_model_fault_nth_call(rec: Recorder) -> None:
    model, _ = _model(rec, "timeout", nth=2)
    model.complete("research", "p", CTX)
    with pytest.raises(ModelTimeout):
        model.complete("research", "p", CTX)
    model.complete("research", "p", CTX)


def test_model_fault_honours_the_clock_window(rec: Recorder) -> None:
    clock = VClock()
    inj = FaultInjector(
        FaultPlan(
            faults=[
                Fault(
                    kind="model", trigger=Trigger(window={"start": 10, "end": 20}), params={"mode": "timeout"}
                )
            ]
        ),  # fmt: skip
        rec,
        clock=clock,
    )
    model = FaultyModel(ScriptedModel(seed=1), inj, "a")
    model.complete("research", "p", CTX)
    clock.t = 10
    with pytest.raises(ModelTimeout):
        model.complete("research", "p", CTX)
    clock.t = 20
    model.complete("research", "p", CTX)


def test_model_empty_output_keeps_the_shape() -> None:
    from harness.faults.model import emptied

    assert emptied({"facts": [1, 2], "meta": {"tags": ["a"], "n": 3}, "title": "t"}) == {
        "facts": [],
        "meta": {"tags": [], "n": 3},
        "title": "t",
    }
    assert emptied([{"a": 1}]) == [] and emptied("text") == "text"


def test_model_empty_answer(rec: Recorder) -> None:
    model, _ = _model(rec, "empty")
    good = ScriptedModel(seed=1).complete("research", "p", CTX)
    empty = model.complete("research", "p", CTX)
    assert good.output["facts"] and empty.output == {"facts": []}
    assert (empty.input_tokens, empty.output_tokens) == (
        good.input_tokens,
        good.output_tokens,
    )  # still billed
    assert nemesis_ops(rec, "model")[0].value["mode"] == "empty"
