"""``Effects.perform`` and ``Effects.attempt`` name an effect the same way:
by its kind (``publish``), or by its full name (``effect.publish``)."""

from __future__ import annotations

import pytest

from harness.checkers import check_idempotency
from harness.history.recorder import Recorder
from harness.instrument.effects import Effects, effect_name


def test_effect_name_rule() -> None:
    assert effect_name("publish") == "effect.publish"
    assert effect_name("effect.publish") == "effect.publish"
    assert effect_name("mail.send") == "effect.mail.send"
    for bad in ("", "effect."):
        with pytest.raises(ValueError):
            effect_name(bad)


@pytest.mark.parametrize("name", ["publish", "effect.publish"])
def test_perform_and_attempt_take_the_same_spelling(name: str) -> None:
    rec = Recorder()
    eff = Effects(rec, "writer", process="writer")
    eff.perform(name, "k1")
    assert eff.attempt(name, "k2", lambda: True)
    assert {o.f for o in rec.ops} == {"effect.publish"}


def test_one_effect_through_both_is_counted_as_one_kind() -> None:
    rec = Recorder()
    eff = Effects(rec, "writer", process="writer")
    eff.perform("publish", "k")
    eff.attempt("publish", "k", lambda: True)  # the same logical operation again
    v = check_idempotency(rec.ops)
    assert [a.kind for a in v.violations] == ["duplicate_effect"]
