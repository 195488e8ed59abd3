"""Sequential specifications for the linearizability checker.

A model is a small frozen record of pure functions, as in Porcupine:

- ``init()`` -> the initial state;
- ``step(state, input, output)`` -> ``(ok, new_state)``: may the operation with
  this input return this output in ``state``, and what state follows;
- ``equal(a, b)`` (optional): state equality. Without it states are compared
  with ``==`` and must be hashable, which is the fast path;
- ``describe_operation(input, output)`` and ``describe_state(state)``: text for
  witnesses;
- ``partition(input)`` (optional): the independent part of the state an
  operation touches (e.g. its key); each part is checked alone;
- ``read_only(input, output)`` (optional): True for an operation that never
  changes the state when it is legal (a read, a failed cas). The search then
  places such an operation as soon as it is legal without trying alternatives,
  which is safe (it can be moved earlier in any linearization) and prunes a lot;
- ``possible(inputs)`` (optional): given the inputs of a part (operation ``i``
  is ``inputs[i]``), a predicate ``(state, input, output, placed) -> bool``
  telling whether a read-only operation that is illegal in ``state`` could
  still become legal after more operations, where bit ``i`` of the int
  ``placed`` is set when operation ``i`` is already linearized (or None when
  anything is possible). A pending read that never can is a dead end;
- ``prepare(pair)``: turns a recorded invocation/completion pair into
  ``(input, output)``, or None to leave it out.

An operation whose outcome is unknown (``info``, or never completed) reaches
``step`` with ``output`` set to :data:`UNKNOWN`; ``step`` returns the state
after the operation takes effect, and the checker accepts it at any point
after its invocation (or, by placing it last, never).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import hashable
from harness.history.model import FAIL, INFO, Pair


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""The output of an operation whose outcome is unknown."""


def _describe_operation(inp: Any, out: Any) -> str:
    return f"{inp!r} -> {out!r}"


def default_prepare(pair: Pair) -> tuple[Any, Any] | None:
    """``(f, key, invoke value)`` as input; the completion's value as output,
    :data:`UNKNOWN` for an unknown outcome; failed operations are left out."""
    t = pair.type
    if t == FAIL:
        return None
    inp = (pair.invoke.f, hashable(pair.invoke.key), hashable(pair.invoke.value))
    if t == INFO:
        return inp, UNKNOWN
    return inp, hashable(pair.value)


def _partition_by_key(inp: Any) -> Hashable:
    return inp[1]


@dataclass(frozen=True, slots=True)
class Model:
    """A sequential specification (see the module docstring)."""

    init: Callable[[], Any]
    step: Callable[[Any, Any, Any], tuple[bool, Any]]
    equal: Callable[[Any, Any], bool] | None = None
    describe_operation: Callable[[Any, Any], str] = _describe_operation
    describe_state: Callable[[Any], str] = repr
    partition: Callable[[Any], Hashable] | None = None
    prepare: Callable[[Pair], tuple[Any, Any] | None] = default_prepare
    read_only: Callable[[Any, Any], bool] | None = None
    possible: Callable[[Sequence[Any]], Callable[[Any, Any, Any, int], bool] | None] | None = None
    name: str = "custom"


# -- register: read / write / cas ---------------------------------------------
_READS = frozenset({"read", "get", "r"})
_WRITES = frozenset({"write", "put", "w"})
_CAS = frozenset({"cas", "compare-and-set", "compare_and_set"})


def _register_prepare(pair: Pair) -> tuple[Any, Any] | None:
    inv = pair.invoke
    f = inv.f
    t = pair.type
    key = hashable(inv.key)
    if f in _READS:
        if t != "ok":  # a read with no known result has no effect: leave it out
            return None
        return ("r", key, None), hashable(pair.complete.value if pair.complete else None)
    if f in _WRITES:
        if t == FAIL:
            return None
        return ("w", key, hashable(inv.value)), (UNKNOWN if t == INFO else None)
    if f in _CAS:
        v = inv.value
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError(f"operation {inv.index}: cas value must be [expected, new], got {v!r}")
        out = UNKNOWN if t == INFO else (t != FAIL)
        return ("c", key, (hashable(v[0]), hashable(v[1]))), out
    raise ValueError(f"operation {inv.index}: the register model has no operation {f!r}")


def _register_step(state: Any, inp: Any, out: Any) -> tuple[bool, Any]:
    op = inp[0]
    if op == "r":
        return out == state, state
    if op == "w":
        return True, inp[2]
    expected, new = inp[2]
    if state == expected:
        # a failed cas observed a different value (Porcupine's and etcd's meaning)
        return out is not False, new
    return out is not True, state


def _register_describe(inp: Any, out: Any) -> str:
    op, key, arg = inp
    where = "" if key is None else f"[{key!r}]"
    if op == "r":
        return f"read{where}() -> {'nil' if out is None else repr(out)}"
    if op == "w":
        return f"write{where}({arg!r})" + (" (outcome unknown)" if out is UNKNOWN else "")
    res = "unknown" if out is UNKNOWN else ("ok" if out else "fail")
    return f"cas{where}({arg[0]!r}, {arg[1]!r}) -> {res}"


def _nil(state: Any) -> str:
    return "nil" if state is None else repr(state)


def _register_possible(inputs: Sequence[Any]) -> Callable[[Any, Any, Any, int], bool]:
    """A read of v becomes legal only after a write (or cas) of v not yet
    placed; a failed cas expecting v only after one writing something else."""
    producers: dict[Any, list[tuple[int, Any]]] = {}
    for n, i in enumerate(inputs):
        if i[0] == "w":
            producers.setdefault(i[1], []).append((1 << n, i[2]))
        elif i[0] == "c":
            producers.setdefault(i[1], []).append((1 << n, i[2][1]))
    masks: dict[tuple[Any, Any, bool], int] = {}

    def possible(state: Any, inp: Any, out: Any, placed: int) -> bool:
        if inp[0] == "r":
            want, same = out, True
        else:  # a failed cas: needs a value other than the expected one
            want, same = inp[2][0], False
        k = (inp[1], want, same)
        mask = masks.get(k)
        if mask is None:
            prods = producers.get(inp[1], ())
            mask = sum(b for b, v in prods if (v == want) == same)
            masks[k] = mask
        return bool(mask & ~placed)

    return possible


def _register_read_only(inp: Any, out: Any) -> bool:
    return inp[0] == "r" or (inp[0] == "c" and out is False)


REGISTER = Model(
    init=lambda: None,
    read_only=_register_read_only,
    possible=_register_possible,
    step=_register_step,
    describe_operation=_register_describe,
    describe_state=_nil,
    partition=_partition_by_key,
    prepare=_register_prepare,
    name="register",
)
"""A compare-and-set register per key, starting empty (a read returns nil).
Operations ``read``/``get``, ``write``/``put`` and ``cas`` with value
``[expected, new]``; a ``fail``ed cas means the comparison failed."""


# -- key-value store: get / put / append ---------------------------------------
def _kv_prepare(pair: Pair) -> tuple[Any, Any] | None:
    inv = pair.invoke
    f = inv.f
    t = pair.type
    key = hashable(inv.key)
    if f == "get":
        if t != "ok":
            return None
        v = pair.complete.value if pair.complete else None
        return ("g", key, None), ("" if v is None else v)
    if f in ("put", "append"):
        if t == FAIL:
            return None
        v = inv.value
        return ("p" if f == "put" else "a", key, "" if v is None else v), (UNKNOWN if t == INFO else None)
    raise ValueError(f"operation {inv.index}: the kv model has no operation {f!r}")


def _kv_step(state: str, inp: Any, out: Any) -> tuple[bool, Any]:
    op = inp[0]
    if op == "g":
        return out == state, state
    if op == "p":
        return True, inp[2]
    return True, state + inp[2]


def _kv_describe(inp: Any, out: Any) -> str:
    op, key, arg = inp
    if op == "g":
        return f"get({key!r}) -> {out!r}"
    name = "put" if op == "p" else "append"
    return f"{name}({key!r}, {arg!r})" + (" (outcome unknown)" if out is UNKNOWN else "")


def _kv_read_only(inp: Any, out: Any) -> bool:
    return inp[0] == "g"


def _kv_possible(inputs: Sequence[Any]) -> Callable[[Any, Any, Any, int], bool] | None:
    """Appends only grow a value and a put restarts it, so a get of v can still
    become legal from state s only if s is a prefix of v, or v starts with the
    value of a put (to the same key) not yet placed."""
    if not all(isinstance(i[2], str) for i in inputs if i[0] != "g"):
        return None
    puts: dict[Any, list[tuple[int, str]]] = {}
    for n, i in enumerate(inputs):
        if i[0] == "p":
            puts.setdefault(i[1], []).append((1 << n, i[2]))
    via_put: dict[tuple[Any, Any], int] = {}

    def possible(state: str, inp: Any, out: Any, placed: int) -> bool:
        if not isinstance(out, str):
            return False
        if out.startswith(state):
            return True
        mask = via_put.get((inp[1], out))
        if mask is None:
            mask = sum(bit for bit, p in puts.get(inp[1], ()) if out.startswith(p))
            via_put[(inp[1], out)] = mask
        return bool(mask & ~placed)

    return possible


KV = Model(
    init=lambda: "",
    read_only=_kv_read_only,
    possible=_kv_possible,
    step=_kv_step,
    describe_operation=_kv_describe,
    partition=_partition_by_key,
    prepare=_kv_prepare,
    name="kv",
)
"""A key-value store of strings (absent = empty string), checked per key:
``get`` returns the value, ``put`` sets it, ``append`` appends to it."""


MODELS: dict[str, Model] = {"register": REGISTER, "kv": KV}


def unpartitioned(model: Model, parts: list[Hashable]) -> Model:
    """``model`` as one state over all of ``parts`` (a tuple of per-part
    states), so a history can be checked without partitioning."""
    if model.partition is None:
        return model
    part_of = model.partition
    slot = {p: i for i, p in enumerate(parts)}
    inner_step = model.step
    inner_init = model.init
    inner_equal = model.equal
    inner_describe = model.describe_state

    def init() -> tuple[Any, ...]:
        return tuple(inner_init() for _ in parts)

    def step(state: tuple[Any, ...], inp: Any, out: Any) -> tuple[bool, Any]:
        i = slot[part_of(inp)]
        ok, sub = inner_step(state[i], inp, out)
        if not ok:
            return False, state
        return True, (*state[:i], sub, *state[i + 1 :])

    def equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
        return all(inner_equal(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[misc]

    inner_possible = model.possible

    def possible(inputs: Sequence[Any]) -> Callable[[Any, Any, Any, int], bool] | None:
        pred = inner_possible(inputs) if inner_possible is not None else None
        if pred is None:
            return None

        def whole(state: tuple[Any, ...], inp: Any, out: Any, placed: int) -> bool:
            return pred(state[slot[part_of(inp)]], inp, out, placed)

        return whole

    def describe(state: tuple[Any, ...]) -> str:
        return "{" + ", ".join(f"{p!r}: {inner_describe(s)}" for p, s in zip(parts, state, strict=True)) + "}"

    return Model(
        init=init,
        step=step,
        equal=None if inner_equal is None else equal,
        describe_operation=model.describe_operation,
        describe_state=describe,
        partition=None,
        prepare=model.prepare,
        read_only=model.read_only,
        possible=possible,
        name=f"{model.name} (unpartitioned)",
    )
