"""Linearizability: is there a total order of the operations, consistent with
their real-time order, that the model accepts?

``check_linearizability(history, model=...)`` splits the history by the
model's partition (e.g. per key: linearizability is local, so each key can be
checked alone), runs the search on each part and returns a Verdict. With a
``timeout`` it answers ``"unknown"`` rather than guess. For a violation the
witness is the longest linearizable prefix found and the operation that cannot
be placed after it.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any

from harness.checkers._search import LinOp, SearchResult, search
from harness.checkers.models import MODELS, UNKNOWN, Model, unpartitioned
from harness.checkers.verdict import UNKNOWN as UNKNOWN_VERDICT
from harness.checkers.verdict import Anomaly, Verdict
from harness.history.model import Op, pair_operations

NAME = "linearizability"


def to_linops(history: Iterable[Op], model: Model) -> list[LinOp]:
    """Pair invocations with completions and let the model prepare each pair.

    Time is the position in the history (which is in time order), so a
    completion before an invocation means real-time precedence.
    """
    ops = list(history)
    pos = {id(op): i for i, op in enumerate(ops)}
    out: list[LinOp] = []
    for pair in pair_operations(ops):
        if pair.complete is pair.invoke:
            continue  # a completion without an invocation: nothing to place
        prepared = model.prepare(pair)
        if prepared is None:
            continue
        inp, output = prepared
        call = pos[id(pair.invoke)]
        known = pair.complete is not None and pair.complete.type != "info"
        ret = pos[id(pair.complete)] if known and pair.complete is not None else None
        idx = (pair.invoke.index,) if pair.complete is None else (pair.invoke.index, pair.complete.index)
        out.append(LinOp(inp, output, call, ret, idx, pair.invoke.process))
    return out


def partition(ops: list[LinOp], model: Model) -> dict[Hashable, list[LinOp]]:
    if model.partition is None:
        return {None: ops}
    parts: dict[Hashable, list[LinOp]] = {}
    for o in ops:
        parts.setdefault(model.partition(o.input), []).append(o)
    return parts


def _describe(model: Model, o: LinOp) -> str:
    try:
        text = model.describe_operation(o.input, o.output)
    except Exception:  # a witness must never be lost to a describe bug
        text = f"{o.input!r} -> {o.output!r}"
    return f"{text} [process {o.process}, ops {', '.join(map(str, o.ops))}]"


def _witness(model: Model, key: Any, part: list[LinOp], res: SearchResult) -> Anomaly:
    prefix = [part[i] for i in res.longest]
    blocked = part[res.blocked] if res.blocked is not None else None
    try:
        state = model.describe_state(res.state)
    except Exception:
        state = repr(res.state)
    where = "" if key is None else f" on key {key!r}"
    if blocked is not None:
        message = (
            f"not linearizable{where}: after a linearizable prefix of {len(prefix)} operation(s) "
            f"(state {state}), {_describe(model, blocked)} cannot be placed"
        )
    else:
        message = f"not linearizable{where}"
    ops = tuple(sorted({i for o in ([blocked] if blocked else []) + prefix[-3:] for i in o.ops}))
    return Anomaly(
        kind="nonlinearizable",
        ops=ops,
        message=message,
        key=key,
        details={
            "prefix": [o.ops[0] for o in prefix],
            "prefix_described": [_describe(model, o) for o in prefix],
            "blocked": list(blocked.ops) if blocked else None,
            "blocked_described": _describe(model, blocked) if blocked else None,
            "state": state,
        },
    )


def check_linearizability(
    history: Iterable[Op],
    model: Model | str = "register",
    *,
    timeout: float | None = None,
    partitioned: bool = True,
) -> Verdict:
    """Check ``history`` against ``model`` (a :class:`Model` or the name of a
    built-in one: ``register``, ``kv``). ``timeout`` in seconds bounds the
    whole check; ``partitioned=False`` checks the history as one part."""
    if isinstance(model, str):
        try:
            model = MODELS[model]
        except KeyError:
            raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}") from None
    t0 = time.monotonic()
    deadline = None if timeout is None else t0 + timeout
    ops = to_linops(history, model)
    parts = partition(ops, model)
    if not partitioned and len(parts) > 1:
        model = unpartitioned(model, list(parts))
        parts = {None: ops}
    anomalies: list[Anomaly] = []
    timed_out: list[Any] = []
    explored = 0
    unknown_ops = sum(1 for o in ops if o.ret is None)
    # smallest parts first: a violation in a small part is found fastest
    for key, part in sorted(parts.items(), key=lambda kv: len(kv[1])):
        possible = model.possible([o.input for o in part]) if model.possible else None
        res = search(part, model.init(), model.step, model.equal, deadline, model.read_only, possible)
        explored += res.explored
        if res.ok is False:
            anomalies.append(_witness(model, key, part, res))
            break  # one witness proves the violation
        if res.ok is None:
            timed_out.append(key)
            break
    stats = {
        "model": model.name,
        "operations": len(ops),
        "unknown_outcome": unknown_ops,
        "partitions": len(parts),
        "states_explored": explored,
        "seconds": round(time.monotonic() - t0, 6),
    }
    if anomalies:
        return Verdict(NAME, False, tuple(anomalies), stats)
    if timed_out:
        stats["timed_out_partition"] = timed_out[0]
        return Verdict(NAME, UNKNOWN_VERDICT, (), stats)
    return Verdict(NAME, True, (), stats)


__all__ = ["NAME", "UNKNOWN", "check_linearizability", "partition", "to_linops"]
