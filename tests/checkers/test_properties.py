"""Property tests: histories made from a sequential execution are linearizable,
an injected stale read makes them not, the search agrees with brute force, and
no checker crashes on any well-formed history."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checkers import CHECKERS, KV, REGISTER, check, check_delivery, check_linearizability
from harness.checkers.linearizability import to_linops
from harness.history.model import Op

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sequential_register(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A sequential execution of a register (every written value unique), each
    op with the result it had; some writes and cas have an unknown outcome."""
    n = draw(st.integers(1, 14))
    state: Any = None
    fresh = iter(range(1, 10_000))
    ops = []
    for _ in range(n):
        kind = draw(st.sampled_from(["read", "write", "cas"]))
        unknown = kind != "read" and draw(st.integers(0, 5)) == 0
        if kind == "read":
            ops.append({"f": "read", "in": None, "out": state, "type": "ok"})
        elif kind == "write":
            v = next(fresh)
            state = v
            ops.append({"f": "write", "in": v, "out": v, "type": "info" if unknown else "ok"})
        else:
            expect = state if draw(st.booleans()) else draw(st.sampled_from([None, 0, -1]))
            new = next(fresh)
            ok = expect == state
            if ok:
                state = new
            ops.append(
                {
                    "f": "cas",
                    "in": [expect, new],
                    "out": [expect, new],
                    "type": "info" if unknown else ("ok" if ok else "fail"),
                }
            )
    return ops


@st.composite
def made_concurrent(draw: st.DrawFn, ops: list[dict[str, Any]]) -> list[Op]:
    """Give each operation an interval around its place in the sequential order."""
    events = []
    for i, o in enumerate(ops):
        point = 10.0 * (i + 1)
        start = point - draw(st.floats(0.01, 25.0))
        end = point + draw(st.floats(0.01, 25.0))
        events.append((start, 0, i))
        if o["type"] != "none":
            events.append((end, 1, i))
    events.sort()
    history = []
    for t, kind, i in events:
        o = ops[i]
        typ = "invoke" if kind == 0 else o["type"]
        value = o["in"] if kind == 0 else (None if typ == "info" else o["out"])
        history.append(Op(len(history), int(t * 1000), f"p{i}", typ, o["f"], "x", value))
    return history


def _brute_force(history: list[Op], model) -> bool:
    ops = to_linops(history, model)
    n = len(ops)

    def go(placed: frozenset[int], state: Any) -> bool:
        if all(o.ret is None or i in placed for i, o in enumerate(ops)):
            return True
        for i, o in enumerate(ops):
            if i in placed:
                continue
            # every op that returned before i was called must already be placed
            if any(p.ret is not None and p.ret < o.call and j not in placed for j, p in enumerate(ops)):
                continue
            ok, s = model.step(state, o.input, o.output)
            if (ok or o.ret is None) and go(placed | {i}, s):
                return True
        return False

    return go(frozenset(), model.init()) if n else True


@SETTINGS
@given(st.data())
def test_sequential_execution_made_concurrent_is_linearizable(data: st.DataObject) -> None:
    ops = data.draw(sequential_register())
    history = data.draw(made_concurrent(ops))
    v = check_linearizability(history, "register", timeout=30)
    assert v.valid is True, v.anomalies


@SETTINGS
@given(st.data())
def test_injected_stale_read_is_never_linearizable(data: st.DataObject) -> None:
    ops = data.draw(sequential_register())
    history = data.draw(made_concurrent(ops))
    t = history[-1].time + 1000
    # w1 then w2 then a read that returns w1's value, strictly after each other
    for j, (typ, f, value) in enumerate(
        [
            ("invoke", "write", -100),
            ("ok", "write", -100),
            ("invoke", "write", -200),
            ("ok", "write", -200),
        ]
    ):
        history.append(Op(len(history), t + j, f"q{j // 2}", typ, f, "x", value))
    # the stale read overlaps nothing after it, but may begin anywhere after w2 completed
    history.append(Op(len(history), t + 10, "reader", "invoke", "read", "x", None))
    history.append(Op(len(history), t + 11, "reader", "ok", "read", "x", -100))
    v = check_linearizability(history, "register", timeout=30)
    assert v.valid is False
    assert v.anomalies[0].details["blocked"]


@st.composite
def small_concurrent_history(draw: st.DrawFn, kv: bool) -> list[Op]:
    """Arbitrary small histories (linearizable or not) over few values."""
    n = draw(st.integers(1, 6))
    keys = ["a", "b"] if kv else ["x"]
    events = []
    for i in range(n):
        key = draw(st.sampled_from(keys))
        if kv:
            f = draw(st.sampled_from(["get", "put", "append"]))
            arg = None if f == "get" else draw(st.sampled_from(["1", "2"]))
            out = draw(st.sampled_from(["", "1", "2", "12", "21", "11"])) if f == "get" else arg
        else:
            f = draw(st.sampled_from(["read", "write", "cas"]))
            arg = (
                None
                if f == "read"
                else (
                    draw(st.integers(1, 2))
                    if f == "write"
                    else [draw(st.sampled_from([None, 1, 2])), draw(st.integers(1, 2))]
                )
            )
            out = draw(st.sampled_from([None, 1, 2])) if f == "read" else arg
        typ = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail", "none"]))
        if f in ("read", "get") and typ in ("info", "fail"):
            typ = "ok"
        if f in ("write", "put", "append") and typ == "fail":
            typ = "ok"
        start, length = draw(st.integers(0, 20)), draw(st.integers(1, 10))
        events.append((start, 0, i, f, key, arg))
        if typ != "none":
            events.append((start + length, 1, i, f, key, None if typ == "info" else out, typ))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    history = []
    for e in events:
        typ = "invoke" if e[1] == 0 else e[6]
        history.append(Op(len(history), e[0], f"p{e[2]}", typ, e[3], e[4], e[5]))
    return history


@SETTINGS
@given(st.data())
def test_register_search_agrees_with_brute_force(data: st.DataObject) -> None:
    history = data.draw(small_concurrent_history(kv=False))
    v = check_linearizability(history, "register")
    assert v.valid is _brute_force(history, REGISTER)


@SETTINGS
@given(st.data())
def test_kv_search_agrees_with_brute_force_with_and_without_partitions(data: st.DataObject) -> None:
    history = data.draw(small_concurrent_history(kv=True))
    expected = _brute_force(history, KV) if len({op.key for op in history}) == 1 else None
    a = check_linearizability(history, "kv").valid
    b = check_linearizability(history, "kv", partitioned=False).valid
    assert a is b
    if expected is not None:
        assert a is expected


# -- delivery: an at-least-once queue that delivers everything ------------------
@SETTINGS
@given(st.data())
def test_at_least_once_delivery_passes_and_a_dropped_message_is_lost(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    order = data.draw(st.permutations(range(n)))
    dups = data.draw(st.lists(st.integers(0, n - 1), max_size=4))
    history: list[Op] = []

    def add(p: str, typ: str, f: str, value: Any) -> None:
        history.append(Op(len(history), len(history), p, typ, f, "q", value))

    for i in range(n):
        add("s", "invoke", "sqs.SendMessage", {"message_id": f"m{i}"})
        add("s", "ok", "sqs.SendMessage", {"message_id": f"m{i}", "sqs_id": f"s{i}"})
    for i in list(order) + dups:
        add("w", "invoke", "sqs.ReceiveMessage", None)
        add("w", "ok", "sqs.ReceiveMessage", {"messages": [{"message_id": f"m{i}", "sqs_id": f"s{i}"}]})
        add("w", "invoke", "sqs.DeleteMessage", {"sqs_id": f"s{i}"})
        add("w", "ok", "sqs.DeleteMessage", None)
    v = check_delivery(history)
    assert v.valid is True
    assert v.stats["duplicated"] == len(set(dups))
    dropped = f"m{data.draw(st.integers(0, n - 1))}"
    kept = [
        op
        for op in history
        if not (op.f != "sqs.SendMessage" and op.type == "ok" and f"'{dropped}'" in str(op.value))
    ]
    lost = check_delivery(kept)
    assert lost.valid is False and {a.key for a in lost.violations} == {dropped}


# -- no checker crashes on a well-formed history ---------------------------------
F_NAMES = [
    "sqs.SendMessage",
    "sqs.SendMessageBatch",
    "sqs.ReceiveMessage",
    "sqs.DeleteMessage",
    "sqs.DeleteMessageBatch",
    "dynamodb.PutItem",
    "dynamodb.UpdateItem",
    "dynamodb.GetItem",
    "effect.publish",
    "state.transition",
    "model.complete",
    "budget.allocate",
    "other.Thing",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.text(max_size=3)
    | st.sampled_from(["pending", "running", "done", "message_id", "sqs_id", "group", "version", "item"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "message_id",
                    "sqs_id",
                    "group",
                    "messages",
                    "entries",
                    "version",
                    "expect_version",
                    "condition",
                    "item",
                    "from",
                    "to",
                    "task_id",
                    "budget",
                    "input_tokens",
                    "output_tokens",
                    "consistent",
                    "max_tokens",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3/t"]),
            st.sampled_from(["invoke", "ok", "fail", "info"]),
            st.sampled_from(F_NAMES),
            st.none() | st.sampled_from(["q", "t/1", "k"]) | st.integers(0, 2),
            json_values,
        ),
        max_size=40,
    )
)
def test_no_checker_crashes_on_any_well_formed_history(rows: list[tuple[Any, ...]]) -> None:
    history = [Op(i, i, p, t, f, k, v) for i, (p, t, f, k, v) in enumerate(rows)]
    verdicts = check(history, [n for n in CHECKERS if n != "linearizability"])
    for v in verdicts:
        assert v.valid in (True, False, "unknown")
        for a in v.anomalies:
            assert a.kind and isinstance(a.ops, tuple)
