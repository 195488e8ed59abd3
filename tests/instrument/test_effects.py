"""Declared effects: ``attempt`` records its operation on a process of its own,
open from before the effect until its outcome is known."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError

from harness.checkers import check_idempotency
from harness.faults.injector import AgentCrash
from harness.history.model import INVOKE, OK
from harness.history.recorder import Recorder
from harness.instrument.effects import Effects


def _put(rec: Recorder) -> None:
    """An AWS call the effect makes, recorded on the agent's own process."""
    rec.record("writer", INVOKE, "dynamodb.PutItem", "ledger/publish:k")
    rec.record("writer", OK, "dynamodb.PutItem", "ledger/publish:k")


def _effect_ops(rec: Recorder) -> list[tuple[str, str]]:
    return [(o.process, o.type) for o in rec.ops if o.f == "effect.publish"]


def test_the_effect_is_open_around_the_calls_it_makes() -> None:
    rec = Recorder()
    eff = Effects(rec, "writer", process="writer")
    assert eff.attempt("effect.publish", "k", lambda: (_put(rec), True)[1])
    assert [(o.process, o.type, o.f) for o in rec.ops] == [
        ("writer/effect", "invoke", "effect.publish"),
        ("writer", "invoke", "dynamodb.PutItem"),
        ("writer", "ok", "dynamodb.PutItem"),
        ("writer/effect", "ok", "effect.publish"),
    ]


def test_a_refused_repeat_is_a_fail_and_an_unknown_outcome_is_info() -> None:
    rec = Recorder()
    eff = Effects(rec, "writer", process="writer")
    assert not eff.attempt("effect.publish", "k", lambda: False)

    def lost_ack() -> bool:
        raise ReadTimeoutError(endpoint_url="lost-ack://dynamodb")

    with pytest.raises(ReadTimeoutError):
        eff.attempt("effect.publish", "k", lost_ack)
    assert _effect_ops(rec) == [
        ("writer/effect", "invoke"),
        ("writer/effect", "fail"),
        ("writer/effect", "invoke"),
        ("writer/effect", "info"),
    ]


def test_a_crash_inside_the_effect_leaves_it_possibly_done() -> None:
    """The agent dies after the provider applied the effect and before it
    could record that: the invocation stays open. Done again after the
    restart, the effect may have happened twice: the checker says so (a
    warning; a violation under strict) rather than seeing one clean effect."""
    rec = Recorder()
    eff = Effects(rec, "writer", process="writer")

    def applied_then_crash() -> bool:
        _put(rec)
        raise AgentCrash("writer")

    with pytest.raises(AgentCrash):
        eff.attempt("effect.publish", "k", applied_then_crash)
    assert _effect_ops(rec) == [("writer/effect", "invoke")]
    eff.attempt("effect.publish", "k", lambda: True)  # the restarted agent does it again
    lenient = check_idempotency(rec.ops)
    assert lenient.valid is True and lenient.anomalies
    assert check_idempotency(rec.ops, strict=True).valid is not True
