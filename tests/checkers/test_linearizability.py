"""Linearizability: small cases with known answers, witnesses, time budgets, user models."""

from __future__ import annotations

import pytest

from harness.checkers import KV, REGISTER, UNKNOWN, UNKNOWN_OUTPUT, Model, check_linearizability
from harness.checkers._search import LinOp, search
from harness.history.model import Pair
from tests.checkers._history import History


def _ops(*events: tuple[str, str, str, object]) -> History:
    h = History()
    for proc, typ, f, value in events:
        h.add(proc, typ, f, "x", value)
    return h


def test_porcupine_register_examples() -> None:
    # from Porcupine's TestRegisterModel (6.824 quiz examples)
    ok = _ops(
        ("c0", "invoke", "write", 100),
        ("c1", "invoke", "read", None),
        ("c2", "invoke", "read", None),
        ("c2", "ok", "read", None),
        ("c1", "ok", "read", 100),
        ("c0", "ok", "write", 100),
    )
    assert check_linearizability(ok).valid is True
    bad = _ops(
        ("c0", "invoke", "write", 200),
        ("c1", "invoke", "read", None),
        ("c1", "ok", "read", 200),
        ("c2", "invoke", "read", None),
        ("c2", "ok", "read", None),
        ("c0", "ok", "write", 200),
    )
    assert check_linearizability(bad).valid is False


def test_cas_fail_means_the_comparison_failed() -> None:
    h = _ops(
        ("a", "invoke", "write", 1),
        ("a", "ok", "write", 1),
        ("b", "invoke", "cas", [1, 2]),
        ("b", "fail", "cas", [1, 2]),
    )
    assert check_linearizability(h).valid is False
    h = _ops(
        ("a", "invoke", "write", 1),
        ("a", "ok", "write", 1),
        ("b", "invoke", "cas", [3, 2]),
        ("b", "fail", "cas", [3, 2]),
        ("b", "invoke", "cas", [1, 2]),
        ("b", "ok", "cas", [1, 2]),
        ("c", "invoke", "read", None),
        ("c", "ok", "read", 2),
    )
    assert check_linearizability(h).valid is True


def test_unknown_write_may_take_effect_late_or_never() -> None:
    h = _ops(
        ("a", "invoke", "write", 1),
        ("a", "info", "write", None),
        ("b", "invoke", "read", None),
        ("b", "ok", "read", None),
        ("b", "invoke", "read", None),
        ("b", "ok", "read", 1),
        ("b", "invoke", "read", None),
        ("b", "ok", "read", 1),
    )
    assert check_linearizability(h).valid is True
    # ... but once seen it cannot be unseen
    h.add("b", "invoke", "read", "x", None)
    h.add("b", "ok", "read", "x", None)
    assert check_linearizability(h).valid is False


def test_never_completed_operation_is_unknown() -> None:
    h = _ops(("a", "invoke", "write", 7), ("b", "invoke", "read", None), ("b", "ok", "read", 7))
    v = check_linearizability(h)
    assert v.valid is True and v.stats["unknown_outcome"] == 1


def test_witness_is_longest_prefix_and_blocked_operation() -> None:
    h = _ops(
        ("a", "invoke", "write", 1),
        ("a", "ok", "write", 1),
        ("a", "invoke", "write", 2),
        ("a", "ok", "write", 2),
        ("b", "invoke", "read", None),
        ("b", "ok", "read", 1),
    )
    (a,) = check_linearizability(h).anomalies
    assert a.kind == "nonlinearizable"
    assert a.details["prefix"] == [0, 2]
    assert a.details["blocked"] == [4, 5]
    assert a.details["state"] == "2"
    assert "read['x']() -> 1" in a.message
    assert set(a.ops) == {0, 1, 2, 3, 4, 5}


def test_kv_partitions_and_unpartitioned_agree() -> None:
    h = History()
    h.add(1, "invoke", "append", "k1", "a")
    h.add(2, "invoke", "append", "k2", "b")
    h.add(1, "ok", "append", "k1", "a")
    h.add(3, "invoke", "get", "k2", None)
    h.add(2, "ok", "append", "k2", "b")
    h.add(3, "ok", "get", "k2", "b")
    h.add(1, "invoke", "get", "k1", None)
    h.add(1, "ok", "get", "k1", "a")
    for partitioned in (True, False):
        v = check_linearizability(h, "kv", partitioned=partitioned)
        assert v.valid is True
    assert check_linearizability(h, "kv").stats["partitions"] == 2
    h.add(1, "invoke", "get", "k2", None)
    h.add(1, "ok", "get", "k2", "")
    for partitioned in (True, False):
        assert check_linearizability(h, "kv", partitioned=partitioned).valid is False


def _hard(n: int) -> History:
    # n concurrent writes of unknown outcome, reads that see them in order, then
    # an impossible read: exponential in n to refute
    h = History()
    for i in range(n):
        h.add(f"w{i}", "invoke", "write", "x", i)
    for i in range(n):
        h.add("r", "invoke", "read", "x", None)
        h.add("r", "ok", "read", "x", i)
    h.add("r", "invoke", "read", "x", None)
    h.add("r", "ok", "read", "x", 0)
    return h


def test_timeout_answers_unknown_never_wrong() -> None:
    assert check_linearizability(_hard(8)).valid is False
    v = check_linearizability(_hard(30), timeout=0.2)
    assert v.valid == UNKNOWN
    assert not v.anomalies and v.stats["seconds"] < 2


def test_unknown_model_and_bad_values_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        check_linearizability([], "queue")
    h = _ops(("a", "invoke", "cas", 5), ("a", "ok", "cas", 5))
    with pytest.raises(ValueError, match="cas value"):
        check_linearizability(h)
    with pytest.raises(ValueError, match="no operation"):
        check_linearizability(_ops(("a", "invoke", "frob", 1), ("a", "ok", "frob", 1)))


def _set_prepare(pair: Pair):
    if pair.type == "fail":
        return None
    inp = (pair.invoke.f, pair.invoke.value)
    if pair.type == "info":
        return inp, UNKNOWN_OUTPUT
    return inp, tuple(pair.complete.value) if pair.invoke.f == "read" else None


def _set_step(state: frozenset, inp, out):
    if inp[0] == "add":
        return True, state | {inp[1]}
    return out is UNKNOWN_OUTPUT or frozenset(out) == state, state


SET = Model(
    init=frozenset, step=_set_step, prepare=_set_prepare, name="set", describe_state=lambda s: repr(sorted(s))
)
SET_WITH_EQUAL = Model(
    init=list,
    step=lambda s, i, o: (
        (True, sorted({*s, i[1]})) if i[0] == "add" else (o is UNKNOWN_OUTPUT or sorted(o) == s, s)
    ),
    equal=lambda a, b: a == b,
    prepare=_set_prepare,
    name="set-list",
)


@pytest.mark.parametrize("model", [SET, SET_WITH_EQUAL], ids=["hashable", "equal"])
def test_user_model(model: Model) -> None:
    h = History()
    h.add(0, "invoke", "add", None, 100)
    h.add(1, "invoke", "add", None, 110)
    h.add(2, "invoke", "read", None, None)
    h.add(2, "ok", "read", None, [100, 110])
    h.add(1, "ok", "add", None, 110)
    h.add(0, "ok", "add", None, 100)
    assert check_linearizability(h, model).valid is True
    h.add(2, "invoke", "read", None, None)
    h.add(2, "ok", "read", None, [100])
    assert check_linearizability(h, model).valid is False


def test_search_directly() -> None:
    ops = [LinOp(("w", None, 1), None, 0, 1, (0, 1)), LinOp(("r", None, None), 1, 2, 3, (2, 3))]
    res = search(ops, REGISTER.init(), REGISTER.step)
    assert res.ok is True and res.linearization == (0, 1)
    ops[1] = LinOp(("r", None, None), 2, 2, 3, (2, 3))
    assert search(ops, None, REGISTER.step).ok is False
    assert search([], "", KV.step).ok is True
