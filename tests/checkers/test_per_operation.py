"""Effects judged per logical operation (idempotency) and what outputs say they spent (budget)."""

from __future__ import annotations

from harness.checkers import check_budget, check_idempotency
from harness.history.recorder import Recorder
from harness.instrument import Effects, operation
from tests.checkers._history import History


def _effect(h: History, key: str, op: str | None, attempt: str | None, type: str = "ok") -> None:
    meta = {k: v for k, v in (("operation", op), ("attempt", attempt)) if v is not None}
    h.call("w/effect", "effect.fetch", key, type=type, **meta)


def test_a_key_that_changes_between_deliveries_is_a_duplicate() -> None:
    h = History()
    _effect(h, "s1#receipt-a", "t1/research/0", "d1#1")
    _effect(h, "s1#receipt-b", "t1/research/0", "d2#2")
    v = check_idempotency(h)
    assert v.valid is False
    (a,) = v.violations
    assert a.kind == "duplicate_effect" and a.key == "t1/research/0" and a.ops == (1, 3)


def test_one_delivery_may_perform_several_effects_of_a_kind() -> None:
    h = History()
    _effect(h, "t1/alice", "t1/notify/0", "d1#1")
    _effect(h, "t1/bob", "t1/notify/0", "d1#1")
    assert check_idempotency(h).valid is True


def test_redelivery_under_the_same_key_is_refused_not_duplicated() -> None:
    h = History()
    _effect(h, "s1", "t1/research/0", "d1#1")
    h.call(
        "w/effect",
        "effect.fetch",
        "s1",
        type="fail",
        error="AlreadyDone",
        operation="t1/research/0",
        attempt="d2#2",
    )
    assert check_idempotency(h).valid is True


def test_without_an_attempt_any_two_keys_of_an_operation_count() -> None:
    h = History()
    _effect(h, "k1", "t1/research/0", None)
    _effect(h, "k2", "t1/research/0", None)
    assert check_idempotency(h).valid is False
    assert check_idempotency(h, per_operation=False).valid is True
    assert check_idempotency(h, repeatable=["fetch"]).valid is True


def test_effects_without_an_operation_are_judged_by_key_only() -> None:
    h = History()
    _effect(h, "k1", None, None)
    _effect(h, "k2", None, None)
    assert check_idempotency(h).valid is True


def test_effects_record_the_operation_and_attempt_in_hand() -> None:
    rec = Recorder()
    fx = Effects(rec, "research-1")
    with operation("t1/research/0", "d1#1"):
        fx.attempt("fetch", "s1", lambda: True)
        fx.note("agent.output", "t1/research/0", {})
    fx.attempt("fetch", "s2", lambda: True)
    metas = [(op.f, op.meta.get("operation"), op.meta.get("attempt")) for op in rec.ops if op.type == "ok"]
    assert metas == [
        ("effect.fetch", "t1/research/0", "d1#1"),
        ("agent.output", None, None),
        ("effect.fetch", None, None),
    ]


def _model(h: History, sub: str, tokens: int, budget: int = 100) -> None:
    h.call(
        "w",
        "model.complete",
        sub,
        {"task_id": "t1", "budget": budget},
        {"input_tokens": tokens, "output_tokens": 0},
    )


def _output(h: History, sub: str, used: int, budget: int = 100) -> None:
    h.call("w", "agent.output", sub, {"task_id": "t1", "tokens_used": used, "budget": budget})


def test_an_output_that_spent_more_than_was_recorded_is_unrecorded_spend() -> None:
    h = History()
    _model(h, "t1/write/0", 30)
    _output(h, "t1/write/0", 90)
    v = check_budget(h)
    assert v.valid is False
    assert [a.kind for a in v.violations] == ["unrecorded_spend"]


def test_an_output_over_its_budget_is_over_budget() -> None:
    h = History()
    _model(h, "t1/write/0", 130, budget=200)  # the calls carried a looser budget than the output's
    _output(h, "t1/write/0", 130, budget=120)
    v = check_budget(h)
    assert [a.kind for a in v.violations] == ["over_budget"]
    assert v.violations[0].details["level"] == "output"


def test_outputs_that_match_their_recorded_calls_pass() -> None:
    h = History()
    _model(h, "t1/research/0", 40)
    _model(h, "t1/research/0", 20)  # a redelivery's call: the output counts one attempt only
    _output(h, "t1/research/0", 40)
    _output(h, "t1/write/0", 0)
    assert check_budget(h).valid is True
    h2 = History()
    _output(h2, "t1/write/0", 90)
    assert check_budget(h2, outputs=()).valid is True
