"""The property suite: what a supervisor-plus-workers system must keep under
any fault plan and schedule, checked in the deterministic simulator.

Each property is a Hypothesis test over :class:`~harness.sim.case.Case` (a
workload, a fault plan, a schedule, a seed, one or two workers per
capability), with its own family of faults:

- ``split_brain_is_safe``: two supervisor replicas work on the same tasks (a
  fail-over gone wrong) while workers meet faults. Progress is not promised;
  safety is: no effect twice, no lost update, budgets kept, reads that see
  the agent's own writes, stages in order, no agent killed by an exception.
- ``survives_model_faults``: malformed answers and timeouts, now and then or
  on every call (a poison task), with roomy and tight budgets;
- ``survives_worker_faults``: throttled, dropped, unacknowledged and delayed
  calls, partitions, crashes, pauses, duplicated, reordered and stale
  deliveries and reads, all aimed at workers;
- ``survives_supervisor_faults``: what the supervisor must live with
  (``SUPERVISOR_CALL_KINDS``, ``SUPERVISOR_STEP_KINDS``);
- ``survives_redelivery``: a worker dies just before or after a write and
  the subtask it was handling reaches its handler again (``redelivery_faults``).

The last four check everything: the safety properties above, and that every
request ends and no message is retried for ever. A failure shrinks to a
minimal case; its message shows the case (fault plan, schedule, workload,
seed) and the one-line command that replays it.

Users run the suite against their own implementations through the pytest
plugin (``--harness-worker capability=pkg.module:Class``) with a test class::

    from harness.suite import SystemProperties

    class TestMyAgents(SystemProperties):
        pass
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.faults.plan import CALL_KINDS, PROCESS_KINDS
from harness.sim.case import Case, replay_command
from harness.sim.checks import DEFAULT_CHECKERS, failures
from harness.sim.config import SimResult
from harness.strategies import (
    KINDS,
    WORKERS,
    draws_from_seed_alone,
    fault_plans,
    faults,
    schedules,
    workloads,
)
from harness.system import SystemRef

__all__ = [
    "PROPERTIES",
    "Property",
    "PropertyFailed",
    "RunOutcome",
    "SystemProperties",
    "cases",
    "check_case",
    "property_test",
    "run_property",
    "model_faults",
    "redelivery_faults",
    "supervisor_faults",
    "survivable_faults",
    "worker_faults",
]

#: Budgets a workload draws from: roomy, tight (the write stage is cut short)
#: and very tight (stages fail for want of tokens).
BUDGETS: tuple[int, ...] = (4000, 300, 200)

#: Fault kinds aimed at the supervisor's calls, and at its steps: every kind
#: a call can meet, and crashes in the middle of a step as well as between
#: steps. (A step interrupted half-way, between storing a request and
#: publishing its status, or between failing a subtask and failing its task,
#: once stranded the task: tests/properties/test_known_bugs.py.)
SUPERVISOR_CALL_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k in CALL_KINDS)
SUPERVISOR_STEP_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k in PROCESS_KINDS)

#: Model faults drawn: a malformed answer, an empty one, a timeout. (The fault model's
#: ``overlong`` answer runs 50 times past the call's max_tokens, which no
#: provider bills; no system could keep its budget under it.)
DRAWN_MODEL_MODES: tuple[str, ...] = ("malformed", "empty", "timeout")

#: Kinds aimed at workers besides model faults (a worker keeps no clock that matters).
WORKER_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k not in ("clock_skew", "model"))


def model_faults(workers: tuple[str, ...] = WORKERS) -> st.SearchStrategy[Any]:
    """Model faults aimed at workers, possibly on every call."""
    return faults(("model",), workers, bounded=False, model_modes=DRAWN_MODEL_MODES)


def worker_faults(workers: tuple[str, ...] = WORKERS) -> st.SearchStrategy[Any]:
    """Every other kind, aimed at workers' calls (SQS, DynamoDB) and steps."""
    return faults(WORKER_KINDS, workers, services=("sqs", "dynamodb"))


def supervisor_faults(
    workers: tuple[str, ...] = WORKERS, supervisors: tuple[str, ...] = ("supervisor",)
) -> st.SearchStrategy[Any]:
    """The kinds a supervisor must survive (stale reads drawn more often:
    they are what a read gets unless it asks for consistency). A system
    with no supervisor: the same kinds aimed at its other agents."""
    aim = supervisors[:1] or workers
    return st.one_of(
        faults(SUPERVISOR_CALL_KINDS, aim),
        faults(SUPERVISOR_STEP_KINDS, aim),
        faults(("stale_read",), aim),
    )


#: Writes that settle a delivery (a result stored or sent) or make an
#: effect: a worker that dies just before one of its first has done its work
#: and not yet settled it.
WRITE_CALLS: tuple[tuple[str, str], ...] = (("dynamodb", "PutItem"), ("sqs", "SendMessage"))


def redelivery_faults(workers: tuple[str, ...] = WORKERS) -> st.SearchStrategy[Any]:
    """A worker dies just before or just after one of its first writes, and
    comes back: the message it was handling is delivered again
    (at-least-once), so a subtask whose handler already did its work, and
    whose loop had not yet settled it, reaches ``handle()`` a second time. (A
    loop that answers a finished subtask from a stored result hides a
    worker's own idempotency from every other fault.)"""
    from harness.faults.plan import Fault, Target, Trigger

    trigger = st.one_of(
        st.builds(lambda p: Trigger(probability=p, max_count=3), st.sampled_from([0.5, 0.25])),
        st.builds(lambda n: Trigger(nth=n), st.integers(1, 2)),
    )
    return st.builds(
        lambda agent, call, trig, when, restart: Fault(
            kind="crash",
            target=Target(agent=agent, service=call[0], operation=call[1]),
            trigger=trig,
            params={"when": when, "restart_after": restart},
        ),
        st.sampled_from(list(workers)),
        st.sampled_from(list(WRITE_CALLS)),
        trigger,
        st.sampled_from(["before", "before", "after"]),
        st.sampled_from([1.0, 5.0]),
    )


def survivable_faults(
    workers: tuple[str, ...] = WORKERS, supervisors: tuple[str, ...] = ("supervisor",)
) -> st.SearchStrategy[Any]:
    """Any fault of the three families above."""
    return st.one_of(model_faults(workers), worker_faults(workers), supervisor_faults(workers, supervisors))


def _targets(system: SystemRef, workers: int, supervisors: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the agents faults aim at: the workers (every agent that
    is not a supervisor) and the supervisors, for a run of this scale."""
    known = system.load().options
    scale = {k: v for k, v in (("workers", workers), ("supervisors", supervisors)) if k in known}
    agents = SystemRef(system.spec, {**scale, **system.options}).agents()
    sups = tuple(a.name for a in agents if a.role == "supervisor")
    others = [a.name for a in agents if a.role not in ("supervisor", "consumer")] or [a.name for a in agents]
    # Replicas in order (``research-1``, ``write-1``, ..., ``research-2``): a
    # shrunk case aims at the first replica of each role.
    ranked = sorted(range(len(others)), key=lambda i: (_replica(others[i]), i))
    return tuple(others[i] for i in ranked), sups


def _replica(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def cases(
    system: SystemRef,
    *,
    max_requests: int = 2,
    min_faults: int = 1,
    max_faults: int = 3,
    max_workers: int = 2,
    supervisors: int = 1,
    fault: Callable[..., st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Case]:
    """Simulated runs of ``system``: a number of workers per role (where the
    system scales), a workload, a fault plan aimed at the agents that exist, a
    schedule and a seed. Shrinks towards one worker, one request, one simple
    fault, the seeded schedule and seed 0. ``fault`` makes a fault strategy
    for given worker names (and ``supervisors=`` names)."""
    make = fault or survivable_faults
    scales = "workers" in system.load().options

    def for_workers(n: int) -> st.SearchStrategy[Case]:
        workers, sups = _targets(system, n, supervisors)
        return st.builds(
            lambda seed, workload, plan, schedule: Case.of(
                seed,
                workload,
                plan,
                schedule,
                system.spec,
                dict(system.options),
                workers=n,
                supervisors=supervisors,
            ),
            st.integers(0, 2**16),
            workloads(1, max_requests, budgets=BUDGETS, system=system.spec or None),
            fault_plans(_call(make, workers, sups), min_faults=min_faults, max_faults=max_faults),
            schedules(),
        )

    return st.integers(1, max_workers if scales else 1).flatmap(for_workers)


def _call(
    make: Callable[..., st.SearchStrategy[Any]], workers: tuple[str, ...], sups: tuple[str, ...]
) -> Any:
    import inspect

    if "supervisors" in inspect.signature(make).parameters:
        return make(workers, supervisors=sups)
    return make(workers)


@dataclass(frozen=True)
class Property:
    """A property of the suite: the cases it draws and what it checks."""

    name: str
    doc: str
    cases: Callable[[SystemRef], st.SearchStrategy[Case]]
    #: Check liveness and retries too (else safety only).
    live: bool = True
    checkers: tuple[str, ...] = DEFAULT_CHECKERS
    #: The system option this property needs (None: any system).
    needs: str | None = None

    def applies(self, system: SystemRef) -> bool:
        return self.needs is None or self.needs in system.load().options


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property(
            "split_brain_is_safe",
            "with two supervisor replicas nothing is lost or done twice (progress is not promised)",
            lambda system: cases(
                system,
                supervisors=2,
                max_workers=1,
                fault=lambda w: st.one_of(worker_faults(w), model_faults(w)),
                max_faults=2,
            ),
            live=False,
            needs="supervisors",
        ),
        Property(
            "survives_model_faults",
            "despite model faults every request ends, exactly once, in order and within budget",
            lambda system: cases(system, fault=model_faults, max_faults=2),
        ),
        Property(
            "survives_worker_faults",
            "despite faults on the workers every request ends, exactly once, in order and within budget",
            lambda system: cases(system, fault=worker_faults),
        ),
        Property(
            "survives_supervisor_faults",
            "despite faults on the supervisor every request ends, exactly once, in order and within budget",
            lambda system: cases(system, fault=supervisor_faults),
        ),
        Property(
            "survives_redelivery",
            "a worker that dies after doing its work and meets the same subtask again does it only once",
            lambda system: cases(system, fault=redelivery_faults, min_faults=2, max_faults=3, max_workers=1),
        ),
    )
}

#: Examples per property when the suite runs as pytest tests.
EXAMPLES: dict[str, int] = {
    "split_brain_is_safe": 4,
    "survives_model_faults": 8,
    "survives_worker_faults": 8,
    "survives_supervisor_faults": 8,
    "survives_redelivery": 6,
}


class PropertyFailed(AssertionError):
    """A property does not hold for a case; the message says why and how to replay it."""

    def __init__(self, message: str, case: Case, path: Path) -> None:
        super().__init__(message)
        self.case = case
        self.path = path


def default_report_dir() -> Path:
    return Path(tempfile.gettempdir()) / "harness-cases"


def check_case(
    case: Case, prop: Property | str = "survives_worker_faults", *, report_dir: Path | None = None
) -> SimResult:
    """Run ``case`` and check ``prop``; raises :class:`PropertyFailed` (saving
    the case for replay) when it does not hold."""
    p = PROPERTIES[prop] if isinstance(prop, str) else prop
    judged = case if p.live else dataclasses.replace(case, live=False)  # and so is its saved case, replayed
    result = _simulate(judged)
    note = f"run ended: {result.stopped} at {result.virtual_seconds:.1f} virtual seconds"
    verdicts = judged.judge(result.ops, result.requests, result.task_states, p.checkers, note=note)
    bad = failures(verdicts)
    if bad:
        from harness.sim.explain import explain

        path = judged.save(report_dir or default_report_dir(), p.name)
        raise PropertyFailed(
            f"{p.name}: {p.doc}\n"
            f"does not hold for {SystemRef(case.system, case.options).describe()}:\n"
            f"{explain(bad, result.ops)}\n\n"
            f"case (minimal, once shrunk):\n{judged.describe()}\n\n"
            f"replay: {replay_command(path)}",
            case,  # as drawn
            path,
        )
    return result


def _simulate(case: Case) -> SimResult:
    from harness.sim.forkserver import simulate

    return simulate(case.config())


# -- running a property ------------------------------------------------------------------

#: What every run of the suite shares: slow examples, few of them, and no
#: example database. A database is keyed by the test function, which is the
#: same for every system and worker: one system's failure would be replayed
#: against the next. The seed decides the cases instead (``property_test``'s
#: ``seed``), and a failing case is saved as a case file that replays it.
BASE_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def property_test(
    prop: Property | str,
    system: SystemRef,
    *,
    max_examples: int,
    report_dir: Path | None = None,
    shrink: bool = True,
    derandomize: bool = False,
    on_example: Callable[[Case], None] | None = None,
    seed: int | None = None,
    **settings_kw: Any,
) -> Callable[[], None]:
    """A Hypothesis test function checking ``prop`` for ``system``; call it to
    run. ``seed`` (the harness seed) decides its cases, with the property's
    name: the same seed draws the same cases (None: Hypothesis's own seed,
    or ``derandomize``)."""
    p = PROPERTIES[prop] if isinstance(prop, str) else prop
    known: dict[str, PropertyFailed | None] = {}
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(
        BASE_SETTINGS,
        max_examples=max_examples,
        phases=phases,
        derandomize=derandomize,
        **settings_kw,
    )
    @given(case=p.cases(system))
    def test(case: Case) -> None:
        if on_example is not None:
            on_example(case)
        key = case.dumps()
        if key in known:  # another draw made the same case: same run, same verdict
            if known[key] is not None:
                raise known[key]  # type: ignore[misc]
            return
        try:
            check_case(case, p, report_dir=report_dir)
        except PropertyFailed as e:
            known[key] = e
            raise
        known[key] = None

    # The name (not the system) seeds a derandomized run: every system sees the same cases.
    test.__name__ = test.__qualname__ = p.name
    if seed is not None:
        import hashlib

        from hypothesis import seed as seeded

        digest = hashlib.blake2b(f"{seed}/{p.name}".encode(), digest_size=8).digest()
        test = seeded(int.from_bytes(digest, "big"))(test)
    if seed is None and not derandomize:
        return test
    drawn = test

    def seeded_test() -> None:
        # What a seeded run draws depends on its seed alone, not on which
        # modules this process happened to import (a single test's rerun).
        __tracebackhide__ = True
        with draws_from_seed_alone():
            drawn()

    seeded_test.__name__ = seeded_test.__qualname__ = p.name
    return seeded_test


@dataclass
class RunOutcome:
    """How a property fared: examples run until the first failure (or all of them)."""

    prop: str
    examples: int
    seconds: float
    failure: PropertyFailed | None = None
    cases: list[Case] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return self.failure is not None


def run_property(
    prop: Property | str, system: SystemRef, *, max_examples: int, report_dir: Path | None = None
) -> RunOutcome:
    """Run ``prop`` against ``system`` with a fixed sequence of examples (the
    same for every system) and no shrinking; count the examples up to the
    first failure."""
    p = PROPERTIES[prop] if isinstance(prop, str) else prop
    seen: list[Case] = []
    t0 = time.perf_counter()
    test = property_test(
        p,
        system,
        max_examples=max_examples,
        report_dir=report_dir,
        shrink=False,
        derandomize=True,
        database=None,
        on_example=seen.append,
    )
    try:
        test()
    except PropertyFailed as e:
        n = next((i + 1 for i, c in enumerate(seen) if c == e.case), len(seen))
        return RunOutcome(p.name, n, time.perf_counter() - t0, e, seen)
    return RunOutcome(p.name, len(seen), time.perf_counter() - t0, None, seen)


# -- for pytest ----------------------------------------------------------------------------


class SystemProperties:
    """The suite as pytest tests (subclass it in a test module). Uses the
    plugin's ``harness_config`` fixture: the system under test comes from
    ``--harness-system`` (the ``harness_system`` ini key; default: the
    reference system), with ``--harness-worker`` swapping its workers;
    failing cases are saved under ``--harness-report``. ``max_examples``:
    per property. A property that needs what the system lacks (two
    supervisors for split brain) holds trivially and says so. The harness
    seed (``--harness-seed``) decides the cases; a failure's message ends
    with the command replaying its case and the ``pytest`` command running
    the property again."""

    max_examples: dict[str, int] = EXAMPLES

    def _run(self, name: str, harness_config: Any, request: Any = None) -> None:
        __tracebackhide__ = True
        system = harness_config.system
        if not PROPERTIES[name].applies(system):
            import warnings

            warnings.warn(
                f"{name}: {system.describe()} has no {PROPERTIES[name].needs!r} option; not applicable",
                stacklevel=2,
            )
            return
        test = property_test(
            name,
            system,
            max_examples=self.max_examples.get(name, EXAMPLES[name]),
            report_dir=harness_config.cases_dir,
            seed=getattr(harness_config, "suite_seed", None),
        )
        try:
            test()
        except PropertyFailed as e:
            message = self._with_commands(str(e), e.path, harness_config, request)
            raise PropertyFailed(message, e.case, e.path) from None

    @staticmethod
    def _with_commands(message: str, path: Path, config: Any, request: Any) -> str:
        """A failure's message with the commands that replay it from the user's
        shell: its case (with the ``PYTHONPATH`` its workers need) and the property under pytest."""
        from harness.testing.run import pytest_command, rerun_arg, with_pythonpath

        pythonpath = tuple(getattr(config, "pythonpath", ()))
        replay = f"replay: {replay_command(path)}"
        lines = f"replay: {with_pythonpath(replay_command(path), pythonpath)}"
        if request is not None and hasattr(config, "seed"):
            lines += f"\nrerun:  {pytest_command(rerun_arg(request.node), config)}"
        return message.replace(replay, lines) if replay in message else f"{message}\n{lines}"

    def test_corpus_cases_still_pass(self, harness_config: Any) -> None:
        """First: every case of this system kept in the corpus (``--harness-corpus``,
        cases ``harness explore`` found) replays and passes now."""
        __tracebackhide__ = True
        from harness.testing.explore import corpus_dir, replay_corpus

        replay_corpus(harness_config.system, corpus_dir(harness_config))

    def test_split_brain_is_safe(self, harness_config: Any, request: Any) -> None:
        self._run("split_brain_is_safe", harness_config, request)

    def test_survives_model_faults(self, harness_config: Any, request: Any) -> None:
        self._run("survives_model_faults", harness_config, request)

    def test_survives_worker_faults(self, harness_config: Any, request: Any) -> None:
        self._run("survives_worker_faults", harness_config, request)

    def test_survives_supervisor_faults(self, harness_config: Any, request: Any) -> None:
        self._run("survives_supervisor_faults", harness_config, request)

    def test_survives_redelivery(self, harness_config: Any, request: Any) -> None:
        self._run("survives_redelivery", harness_config, request)

    def test_explore_campaign(self, harness_config: Any, tmp_path: Path) -> None:
        """Last, and only with ``--harness-explore SECONDS``: a time-boxed
        campaign against the system, its failures kept in the corpus."""
        __tracebackhide__ = True
        from harness.testing.explore import corpus_dir, explore

        seconds = harness_config.explore_seconds
        assert seconds is not None, "collected only with --harness-explore SECONDS"
        explore(
            harness_config.system,
            seconds,
            corpus_dir(harness_config) or tmp_path / "corpus",
            harness_config.seed,
        )
