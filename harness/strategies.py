"""Hypothesis strategies for testing an agent system: workloads, fault plans,
schedules, and messages drawn from a contract.

Each strategy shrinks towards the simple case (one request, no fault, the
seeded schedule), so a failing property ends on a small, readable
counterexample::

    from hypothesis import given
    from harness.strategies import fault_plans, schedules, workloads

    @given(workloads(), fault_plans(), schedules())
    def test_every_request_finishes(workload, plan, schedule): ...
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from harness.faults.plan import MODEL_MODES, Fault, FaultPlan, Target, Trigger

__all__ = [
    "AGENTS",
    "BENIGN_KINDS",
    "KINDS",
    "WORKERS",
    "draws_from_seed_alone",
    "fault_plans",
    "faults",
    "messages",
    "model_calls",
    "requests",
    "schedules",
    "workloads",
]

#: The reference system's agents as the simulator names them (one worker per capability).
WORKERS: tuple[str, ...] = ("research-1", "write-1", "review-1")
AGENTS: tuple[str, ...] = ("supervisor", *WORKERS)

#: Every fault kind, simplest first (shrinking moves towards the front).
KINDS: tuple[str, ...] = (
    "duplicate_delivery",
    "reorder",
    "stale_read",
    "delay",
    "model",
    "lose_ack",
    "throttle",
    "drop_request",
    "partition",
    "crash",
    "pause",
    "clock_skew",
)

#: Kinds a correct system tolerates however often they fire: reads may always
#: be stale, and a model that always fails should fail its tasks cleanly.
#: (A queue that duplicates every message forever is not one AWS runs.)
BENIGN_KINDS: frozenset[str] = frozenset({"stale_read", "model", "clock_skew"})

#: The calls each service's faults aim at ("*" for all of them).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "sqs": ("*", "SendMessage", "ReceiveMessage", "DeleteMessage"),
    "dynamodb": ("*", "PutItem", "UpdateItem", "GetItem"),
    "sns": ("*", "Publish"),
}
MODEL_CALLS: tuple[str, ...] = ("*", "research", "write", "review", "plan")


# -- workloads -------------------------------------------------------------------


def requests(
    index: int,
    *,
    budgets: Sequence[int] | None = None,
    topics: Sequence[str] | None = None,
    system: str | None = None,
) -> st.SearchStrategy[Any]:
    """One request of ``system`` (default: the reference system) with id
    ``r<index>``, from the system's own strategy (``budgets`` and ``topics``
    are passed on to it). A system with no strategy: one request of its
    seeded workload."""
    from harness.system import load_system

    wl = load_system(system).workload
    if wl.strategy is None:
        return st.integers(0, 2**16).map(lambda seed: wl.requests(index + 1, seed)[index])
    import inspect

    kw = {k: v for k, v in (("budgets", budgets), ("topics", topics)) if v}
    params = inspect.signature(wl.strategy).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kw = {k: v for k, v in kw.items() if k in params}
    return wl.strategy(index, **kw)  # type: ignore[no-any-return]


@st.composite
def workloads(
    draw: st.DrawFn,
    min_requests: int = 1,
    max_requests: int = 2,
    *,
    budgets: Sequence[int] | None = None,
    topics: Sequence[str] | None = None,
    system: str | None = None,
) -> list[Any]:
    """A list of requests of ``system`` (ids ``r0``, ``r1``, ...); shrinks
    to one simple request. For the reference system (the default): a topic
    and a budget, ``budgets`` to choose from (default: its roomy and tight ones)."""
    n = draw(st.integers(min_requests, max_requests))
    return [draw(requests(i, budgets=budgets, topics=topics, system=system)) for i in range(n)]


# -- fault plans -------------------------------------------------------------------


def _trigger(bounded: bool) -> st.SearchStrategy[Trigger]:
    """When a fault fires: the nth match, with a probability, or every kth
    match; bounded: at most three times; unbounded: possibly on every match."""
    if bounded:
        return st.one_of(
            st.builds(lambda n: Trigger(nth=n), st.integers(1, 8)),
            st.builds(
                lambda p, m: Trigger(probability=p, max_count=m),
                st.sampled_from([0.5, 0.25, 1.0]),
                st.integers(1, 3),
            ),
            st.builds(lambda k, m: Trigger(every=k, max_count=m), st.integers(2, 4), st.integers(1, 3)),
        )
    return st.one_of(
        st.just(Trigger()),  # every matching call, for ever
        st.builds(lambda n: Trigger(nth=n), st.integers(1, 8)),
        st.builds(lambda p: Trigger(probability=p), st.sampled_from([0.5, 0.25])),
        st.builds(lambda k: Trigger(every=k), st.integers(2, 4)),
    )


def _call_target(agents: Sequence[str], services: Sequence[str]) -> st.SearchStrategy[Target]:
    return st.sampled_from(list(services)).flatmap(
        lambda svc: st.builds(
            lambda agent, op: Target(agent=agent, service=svc, operation=op),
            st.sampled_from(list(agents)),
            st.sampled_from(list(OPERATIONS.get(svc, ("*",)))),
        )
    )


def model_calls(agent: str) -> tuple[str, ...]:
    """The model calls an agent of the reference system's shape makes: a
    worker ``<capability>-<n>`` its capability, the supervisor ``plan``."""
    role = agent.rsplit("-", 1)[0]
    if role in ("research", "write", "review"):
        return (role, "*")
    if role == "supervisor":
        return ("plan", "*")
    return MODEL_CALLS


def _fault(
    kind: str, agents: Sequence[str], bounded: bool, services: Sequence[str], modes: Sequence[str]
) -> st.SearchStrategy[Fault]:
    """Faults of one kind, with the targets and parameters that make sense for it."""
    trig = _trigger(bounded and kind not in BENIGN_KINDS)
    agent = st.sampled_from(list(agents))
    if kind in ("duplicate_delivery", "reorder"):
        target: st.SearchStrategy[Target] = agent.map(
            lambda a: Target(agent=a, service="sqs", operation="ReceiveMessage")
        )
        params: st.SearchStrategy[dict[str, Any]] = st.just({})
    elif kind == "stale_read":
        target = agent.map(lambda a: Target(agent=a, service="dynamodb", operation="GetItem"))
        params = st.just({})
    elif kind == "model":
        target = agent.flatmap(
            lambda a: st.sampled_from(model_calls(a)).map(
                lambda op: Target(agent=a, service="model", operation=op)
            )
        )
        params = st.sampled_from(list(modes)).map(lambda m: {"mode": m})
    elif kind in ("crash", "pause", "clock_skew"):
        on_step = agent.map(lambda a: Target(agent=a))
        if kind == "crash":
            target = st.one_of(on_step, _call_target(agents, services)) if services else on_step
            params = st.builds(
                lambda when, r: {"when": when, "restart_after": r},
                st.sampled_from(["after", "before"]),
                st.sampled_from([1.0, 5.0, 15.0]),
            )
        elif kind == "pause":
            target = on_step
            params = st.sampled_from([1.0, 5.0, 0.2]).map(lambda s: {"seconds": s})
        else:
            target = on_step
            params = st.sampled_from([5.0, -5.0, 60.0]).map(lambda s: {"seconds": s})
    else:
        target = _call_target(agents, services)
        params = (
            st.sampled_from([0.5, 2.0, 10.0]).map(lambda s: {"seconds": s})
            if kind == "delay"
            else st.just({})
        )
    return st.builds(lambda t, tr, p: Fault(kind=kind, target=t, trigger=tr, params=p), target, trig, params)  # type: ignore[arg-type]


def faults(
    kinds: Iterable[str] = KINDS,
    agents: Sequence[str] = AGENTS,
    *,
    bounded: bool = True,
    services: Sequence[str] = ("sqs", "dynamodb", "sns"),
    model_modes: Sequence[str] = MODEL_MODES,
) -> st.SearchStrategy[Fault]:
    """Single faults of the given ``kinds`` aimed at ``agents`` (and, for
    faults on calls, at the ``services`` they use). ``bounded``: faults other
    than the benign kinds fire at most three times, so a correct system can
    always finish. Model faults aim at the model calls each agent makes, in
    one of ``model_modes``. With no ``services``, crashes happen between two
    steps only."""
    chosen = [k for k in KINDS if k in set(kinds)]
    unknown = set(kinds) - set(KINDS)
    if unknown or not chosen:
        raise ValueError(f"unknown or no fault kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    return st.sampled_from(chosen).flatmap(lambda k: _fault(k, agents, bounded, services, model_modes))


def fault_plans(
    fault: st.SearchStrategy[Fault] | None = None,
    *,
    kinds: Iterable[str] = KINDS,
    agents: Sequence[str] = AGENTS,
    min_faults: int = 0,
    max_faults: int = 3,
    bounded: bool = True,
) -> st.SearchStrategy[FaultPlan]:
    """Fault plans of ``min_faults`` to ``max_faults`` faults drawn from
    ``fault`` (default: :func:`faults` of ``kinds`` aimed at ``agents``) with a
    small seed; shrinks towards fewer, simpler faults and seed 0."""
    one = fault if fault is not None else faults(kinds, agents, bounded=bounded)
    return st.builds(
        lambda seed, fs: FaultPlan(seed=seed, faults=fs),
        st.integers(0, 255),
        st.lists(one, min_size=min_faults, max_size=max_faults),
    )


# -- schedules ----------------------------------------------------------------------


def schedules(max_length: int = 24, max_choice: int = 5) -> st.SearchStrategy[list[int]]:
    """Scheduling choices for the simulator: the i-th says which of the agents
    ready at step i runs (modulo their number); after the list the run's seed
    decides. Shrinks towards the empty list (the seed decides everything)."""
    return st.lists(st.integers(0, max_choice), max_size=max_length)


# -- messages -------------------------------------------------------------------------


def messages(
    schema: dict[str, Any] | str | Path, *, directory: str | Path = "contracts"
) -> st.SearchStrategy[Any]:
    """Messages valid against ``schema``: a JSON Schema (dict), a path to one,
    or a contract name (``"subtask"``, ``"subtask.v1"``) in the registry at
    ``directory``. Built with hypothesis-jsonschema."""
    from hypothesis_jsonschema import from_schema

    from harness.contracts.registry import plain_schema

    return from_schema(plain_schema(_resolve(schema, Path(directory))))


def _resolve(schema: dict[str, Any] | str | Path, directory: Path) -> Any:
    if isinstance(schema, dict):
        return schema
    p = Path(schema)
    if p.suffix == ".json" and p.exists():
        return json.loads(p.read_text())
    from harness.contracts.registry import Registry

    name, _, version = str(schema).partition(".v")
    reg = Registry.load(directory)
    return reg.schema(name, int(version) if version else None)


@contextlib.contextmanager
def draws_from_seed_alone() -> Iterator[None]:
    """Hypothesis (from 6.131) now and then draws a literal found in the
    source of the modules loaded in the process, so what it draws would
    depend on what was imported before (the CLI, pytest's test modules, the
    system under test). While open, it finds none: what a seeded run draws
    depends on its seed alone (a campaign's block, the suite under
    ``--harness-seed``, in any process, whichever tests were collected)."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another layout of Hypothesis: nothing to pin
        yield
        return
    found = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if found is None or not hasattr(providers, "Constants"):
        yield
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty  # type: ignore[attr-defined]
    if cache is not None:
        cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = found  # type: ignore[attr-defined]
        if cache is not None:
            cache.clear()
