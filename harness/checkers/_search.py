"""The search at the heart of the linearizability checker.

Wing & Gong's algorithm with Lowe's just-in-time linearization and memoisation,
as in Porcupine: the history is a doubly linked list of call and return
entries in time order. The search repeatedly tries to linearize the first
pending call whose step the model accepts; it backtracks when it reaches a
return entry (that operation can no longer be placed). A cache of
(linearized set, state) pairs already explored prunes revisits. The set is a
Python int used as a bitset; the list lives in flat integer arrays.

On top of Porcupine's search, each rule sound on its own (and checked against
brute force by the property tests):

- order of candidates: legal read-only operations first, then the others with
  a known outcome, then those of unknown outcome (often never needed);
- a legal read-only operation is placed without branching: any linearization
  can be rearranged to place it now;
- a pending read-only operation that the model says can never become legal
  (``possible``) ends the branch;
- identical operations (same input and output) whose intervals are ordered
  are linearized in that order (no permutations of interchangeable ops);
- a configuration whose unknown-outcome operations are a superset of an
  explored one with the same known operations and state is skipped: operations
  of unknown outcome can always be left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.models import UNKNOWN


@dataclass(frozen=True, slots=True)
class LinOp:
    """An operation as the search sees it. ``call`` and ``ret`` are positions in
    the history (``ret`` is None for an unknown outcome: it may take effect at
    any time after its call); ``ops`` are the history indices it came from."""

    input: Any
    output: Any
    call: int
    ret: int | None
    ops: tuple[int, ...]
    process: Any = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``ok`` is True, False or None (out of time). ``longest`` is the longest
    linearizable prefix found (positions in the op list); ``blocked`` the op
    that could not be placed after it; ``state`` the model state after it."""

    ok: bool | None
    longest: tuple[int, ...]
    blocked: int | None
    state: Any
    explored: int
    linearization: tuple[int, ...] = ()


def search(
    ops: Sequence[LinOp],
    init: Any,
    step: Callable[[Any, Any, Any], tuple[bool, Any]],
    equal: Callable[[Any, Any], bool] | None = None,
    deadline: float | None = None,
    read_only: Callable[[Any, Any], bool] | None = None,
    possible: Callable[[Any, Any, Any, int], bool] | None = None,
) -> SearchResult:
    """Is there a linearization of ``ops`` that the model (``init``, ``step``) accepts?

    ``read_only(input, output)`` marks operations that never change the state;
    once legal they are placed at once and never backtracked over separately.
    ``possible(state, input, output, placed)`` says whether a read-only
    operation that is illegal in ``state`` could become legal after more
    operations (bit i of ``placed`` set = ``ops[i]`` linearized); when a pending
    one cannot, the search backtracks at once.
    """
    n = len(ops)
    if n == 0:
        return SearchResult(True, (), None, init, 0)
    # Entries in time order: (time, kind, op); calls sort before returns at equal times.
    inf = float("inf")
    order = sorted(
        [(o.call, 0, i) for i, o in enumerate(ops)]
        + [(inf if o.ret is None else o.ret, 1, i) for i, o in enumerate(ops)]
    )
    size = 2 * n + 2  # node 0 = head sentinel, node size-1 = tail sentinel
    nxt = list(range(1, size + 1))
    prv = list(range(-1, size - 1))
    nxt[size - 1] = -1
    match = [0] * size  # for a call node: its return node; 0 for return nodes and sentinels
    opof = [-1] * size
    inp: list[Any] = [None] * size
    out: list[Any] = [None] * size
    bit = [0] * size  # the op's bit in the set of all ops
    ubit = [0] * size  # for an op of unknown outcome, its bit among those ops
    unknown = [False] * size  # outcome unknown: any step result is acceptable
    finite = [False] * size  # has a return: must be linearized
    ro = [False] * size
    cls = [0] * size  # 0: read-only, 1: other known outcome, 2: unknown outcome
    call_node = [0] * n
    ret_node = [0] * n
    for pos, (_, kind, i) in enumerate(order, 1):
        opof[pos] = i
        if kind == 0:
            call_node[i] = pos
        else:
            ret_node[i] = pos
    remaining = 0
    n_unknown = 0
    for i, o in enumerate(ops):
        c = call_node[i]
        match[c] = ret_node[i]
        inp[c] = o.input
        out[c] = o.output
        bit[c] = 1 << i
        unknown[c] = o.ret is None or o.output is UNKNOWN
        if o.ret is not None:
            finite[c] = True
            remaining += 1
        else:
            ubit[c] = 1 << n_unknown
            n_unknown += 1
        if read_only is not None and o.output is not UNKNOWN and o.ret is not None:
            ro[c] = bool(read_only(o.input, o.output))
        cls[c] = 0 if ro[c] else (1 if o.ret is not None else 2)
    if remaining == 0:
        return SearchResult(True, (), None, init, 0)
    after = _symmetry(ops, call_node, size)
    placed = [False] * size

    state = init
    lin = 0  # every op placed so far
    kn = 0  # ops of known outcome placed (original bits)
    un = 0  # ops of unknown outcome placed (their own bits)
    calls: list[tuple[int, Any]] = []
    fast = equal is None
    subsume = n_unknown > 0
    # Memo of explored (placed ops, state). With ops of unknown outcome, a
    # configuration is also covered by one with the same known ops and state
    # and a subset of its unknown ops (those may always be left out), so the
    # memo maps (known ops, state) to the unknown subsets explored.
    cache: set[tuple[int, Any]] = set()
    cache_add = cache.add
    ucache: dict[tuple[int, Any], list[int]] = {}
    slow_cache: dict[int, list[Any]] = {}
    best: tuple[int, ...] = ()
    best_len = -1
    best_blocked: int | None = None
    best_state = init
    budget = 2048
    # The candidates at each step are the calls before the first return entry.
    # Phase 0 places a legal read-only operation (no branching needed), phase 1
    # tries the other operations with a known outcome, phase 2 (from the head
    # again) those with an unknown outcome, which are often never needed.
    phase = 0
    e = nxt[0]
    while True:
        r = match[e]
        if r:
            if cls[e] != phase:
                e = nxt[e]
                continue
            a = after[e]
            if a and not placed[a]:
                e = nxt[e]
                continue
            ok, ns = step(state, inp[e], out[e])
            if not (ok or unknown[e]):
                if phase or possible is None or possible(state, inp[e], out[e], lin):
                    e = nxt[e]
                    continue
                # a pending read that can never become legal: a dead end
                if len(calls) > best_len:
                    best_len = len(calls)
                    best = tuple(opof[c] for c, _ in calls)
                    best_blocked = opof[e]
                    best_state = state
            else:
                nl = lin | bit[e]
                if subsume and fast:
                    if finite[e]:
                        k = (kn | bit[e], ns)
                        nu = un
                    else:
                        k = (kn, ns)
                        nu = un | ubit[e]
                    seen_u = ucache.get(k)
                    if seen_u is None:
                        ucache[k] = [nu]
                        new = True
                    else:
                        new = True
                        for u in seen_u:
                            if not (u & ~nu):
                                new = False
                                break
                        if new:
                            seen_u.append(nu)
                elif fast:
                    k = (nl, ns)
                    new = k not in cache
                    if new:
                        cache_add(k)
                else:
                    seen = slow_cache.setdefault(nl, [])
                    new = not any(equal(s, ns) for s in seen)  # type: ignore[misc]
                    if new:
                        seen.append(ns)
                if new:
                    calls.append((e, state))
                    state = ns
                    lin = nl
                    if finite[e]:
                        kn |= bit[e]
                    else:
                        un |= ubit[e]
                    placed[e] = True
                    # lift the call and its return out of the list
                    p = prv[e]
                    q = nxt[e]
                    nxt[p] = q
                    prv[q] = p
                    p = prv[r]
                    q = nxt[r]
                    nxt[p] = q
                    prv[q] = p
                    if finite[e]:
                        remaining -= 1
                        if remaining == 0:
                            lin_ops = tuple(opof[c] for c, _ in calls)
                            return SearchResult(True, lin_ops, None, state, len(cache) + len(ucache), lin_ops)
                    phase = 0
                    e = nxt[0]
                    continue
                if phase:
                    e = nxt[e]
                    continue
                # a legal read-only operation whose successor was explored already:
                # every linearization from here could start with it, so none exists
        elif phase < 2:
            phase += 1
            e = nxt[0]
            continue
        elif len(calls) > best_len:
            # the operation this entry returns cannot be placed after the prefix
            best_len = len(calls)
            best = tuple(opof[c] for c, _ in calls)
            best_blocked = opof[e]
            best_state = state
        budget -= 1
        if budget == 0:
            budget = 2048
            if deadline is not None and time.monotonic() > deadline:
                return SearchResult(None, best, best_blocked, best_state, len(cache) + len(ucache))
        while True:
            if not calls:
                return SearchResult(
                    False, best, best_blocked, best_state, len(cache) + len(slow_cache) + len(ucache)
                )
            e, state = calls.pop()
            lin ^= bit[e]
            if finite[e]:
                kn ^= bit[e]
            else:
                un ^= ubit[e]
            placed[e] = False
            r = match[e]
            nxt[prv[r]] = r
            prv[nxt[r]] = r
            nxt[prv[e]] = e
            prv[nxt[e]] = e
            if finite[e]:
                remaining += 1
            if not ro[e]:
                break
        phase = cls[e]
        e = nxt[e]


def _symmetry(ops: Sequence[LinOp], call_node: list[int], size: int) -> list[int]:
    """For each call node, the call node of an identical operation that may be
    assumed to come first (or 0).

    Two operations with equal input and output, A called no later than B and
    returning no later than B, can trade places in any linearization; so the
    search only considers linearizations where A precedes B. This removes the
    factorial blow-up of interchangeable operations (e.g. unknown-outcome writes
    of the same value)."""
    after = [0] * size
    groups: dict[tuple[Any, Any], list[int]] = {}
    for i, o in enumerate(ops):
        try:
            groups.setdefault((o.input, o.output), []).append(i)
        except TypeError:  # unhashable input or output: no symmetry for it
            continue
    inf = float("inf")
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (ops[i].call, inf if ops[i].ret is None else ops[i].ret, i))
        for j in range(1, len(members)):
            b = members[j]
            rb = inf if ops[b].ret is None else ops[b].ret
            for k in range(j - 1, max(-1, j - 9), -1):
                a = members[k]
                ra = inf if ops[a].ret is None else ops[a].ret
                if ra <= rb:
                    after[call_node[b]] = call_node[a]
                    break
    return after
