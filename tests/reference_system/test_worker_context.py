"""The worker context: every model call a worker can make through it is
recorded and charged, and it offers AWS and a heartbeat in a supported way."""

from __future__ import annotations

import pytest

from harness.history.recorder import Recorder
from harness.instrument.effects import Effects
from reference_system.budget import BudgetExceeded
from reference_system.llm import ScriptedModel
from reference_system.messages import SubtaskMessage
from reference_system.workers import WorkerContext


def _ctx(budget: int = 400, **kw: object) -> tuple[WorkerContext, Recorder]:
    rec = Recorder()
    fx = Effects(rec, "research-1")
    task = SubtaskMessage(
        task_id="t1",
        subtask_id="t1/research/0",
        capability="research",
        topic="heat pumps",
        token_budget=budget,
    )
    return WorkerContext("research-1", ScriptedModel(seed=1), None, fx, task, **kw), rec  # type: ignore[arg-type]


def test_a_call_on_ctx_model_is_recorded_and_charged() -> None:
    ctx, rec = _ctx()
    c = ctx.model.complete(
        "research",
        "List sourced facts about heat pumps.",
        {"subtopic": "heat pumps", "subtask_id": "t1/research/0"},
    )
    calls = [op for op in rec.ops if op.f == "model.complete" and op.type == "ok"]
    assert len(calls) == 1 and calls[0].key == "t1/research/0"
    assert ctx.tokens_used == c.total_tokens > 0
    assert ctx.model.name == "scripted-1"


def test_ctx_model_keeps_the_subtask_within_its_budget() -> None:
    ctx, _ = _ctx(budget=3)
    with pytest.raises(BudgetExceeded):
        ctx.model.complete("research", "List sourced facts about heat pumps, please, at length.", {})


def test_aws_and_heartbeat_say_clearly_when_there_are_none() -> None:
    ctx, _ = _ctx()
    with pytest.raises(RuntimeError, match="no AWS session"):
        ctx.client("dynamodb")
    with pytest.raises(RuntimeError, match="no message is in hand"):
        ctx.extend_visibility(30)
    beats: list[int] = []
    ctx2, _ = _ctx(heartbeat=beats.append)
    ctx2.extend_visibility(30)
    assert beats == [30]


def test_a_worker_never_passes_on_a_malformed_answer() -> None:
    """Found by a randomly seeded suite run: a malformed review answer was
    published as the review's output (fixtures/cases/two-supervisors-malformed-review.json)."""
    import pytest

    from reference_system.outputs import ResearchOutput, ReviewOutput
    from reference_system.workers import MalformedAnswer, checked

    draft = {"title": "t", "paragraphs": ["p"], "citations": []}
    good = {"approved": True, "score": 7, "notes": "fine", "draft": draft}
    assert checked(ReviewOutput, good) == good
    with pytest.raises(MalformedAnswer, match="review_output: approved: Field required"):
        checked(ReviewOutput, {"unparseable": "<<truncated json", "draft": draft})
    with pytest.raises(MalformedAnswer, match="research_output: facts"):
        checked(ResearchOutput, {"unparseable": "<<truncated json"})
