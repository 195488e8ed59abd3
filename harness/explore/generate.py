"""The cases a campaign runs: case ``i`` of campaign seed ``s`` is always the
same case, drawn from the property suite's strategies (:mod:`harness.suite`,
:mod:`harness.strategies`), so a campaign explores exactly what the suite
does, only many more examples of it.

How the draw is made deterministic: the cases come in blocks of
:data:`BLOCK`. Block ``b`` of seed ``s`` is what one Hypothesis run of a
test that only collects its argument generates when seeded with
``hypothesis.seed(blake2b("s/b/fingerprint"))`` (generate phase only, no
database, no deadline, health checks off); its ``j``-th example is case
``b * BLOCK + j``. Hypothesis's generation is a function of its seed and of
what the test does (here: nothing that can fail), so the same seed gives the
same block in any process, and case ``i`` costs drawing one block, never the
cases before it. (Hypothesis also mixes into its draws literals it finds in
the modules the process has loaded; that is switched off while a block is
drawn, so what was imported first does not matter.) (Each block starts, as every Hypothesis run does, with its
simplest example; the campaign runs a repeated case once.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from harness.faults.plan import FaultPlan
from harness.sim.case import Case
from harness.strategies import draws_from_seed_alone
from harness.system import SystemRef

#: Cases per Hypothesis run.
BLOCK = 50

_SETTINGS = settings(
    max_examples=BLOCK,
    phases=[Phase.generate],
    database=None,
    deadline=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
)


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The fault kinds named, in the suite's order; a ValueError (one line) for an unknown one."""
    from harness.strategies import KINDS

    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(
            f"unknown fault kind{'s' if len(unknown) > 1 else ''} {', '.join(unknown) or '(none given)'}: "
            f"choose from {', '.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in set(kinds))


def kinds_family(kinds: Sequence[str]) -> Any:
    """A fault family (``(workers, supervisors=...) -> strategy``, as
    :func:`harness.suite.cases` takes) of only these kinds, each aimed where
    the suite's families aim it: model faults and the workers' kinds at the
    workers, the supervisor's kinds at the supervisor (at the other agents
    of a system without one)."""
    from harness.strategies import faults
    from harness.suite import (
        DRAWN_MODEL_MODES,
        SUPERVISOR_CALL_KINDS,
        SUPERVISOR_STEP_KINDS,
        WORKER_KINDS,
    )

    chosen = check_kinds(kinds)

    def family(workers: tuple[str, ...], supervisors: tuple[str, ...] = ("supervisor",)) -> Any:
        parts = []
        on_workers = [k for k in chosen if k in WORKER_KINDS]
        if on_workers:
            parts.append(faults(on_workers, workers, services=("sqs", "dynamodb")))
        if "model" in chosen:
            parts.append(faults(("model",), workers, bounded=False, model_modes=DRAWN_MODEL_MODES))
        on_sup = [k for k in chosen if k in (*SUPERVISOR_CALL_KINDS, *SUPERVISOR_STEP_KINDS)]
        if on_sup:
            parts.append(faults(on_sup, supervisors[:1] or workers))
        if not parts:  # clock skew alone, on a system whose workers are all it has
            parts.append(faults(chosen, supervisors[:1] or workers))
        return st.one_of(parts)

    return family


def case_strategy(
    system: SystemRef, *, kinds: Sequence[str] | None = None, plan: FaultPlan | None = None
) -> st.SearchStrategy[Case]:
    """What a campaign draws from. By default: the cases of every property of
    the suite that applies to ``system``, each with its own family of faults,
    and each judged as its property is (the split-brain cases on safety
    alone: ``Case.live`` False). ``kinds``: the suite's
    cases with faults of these kinds only. ``plan``: the suite's cases with
    this fault plan instead of a drawn one."""
    from harness.suite import PROPERTIES, cases

    if kinds is not None:
        strategy = cases(system, fault=kinds_family(kinds))
    else:
        strategy = st.one_of(
            [
                p.cases(system)
                if p.live
                else p.cases(system).map(lambda c: dataclasses.replace(c, live=False))
                for p in PROPERTIES.values()
                if p.applies(system)
            ]
        )
    if plan is not None:
        fixed = plan
        strategy = strategy.map(lambda c: dataclasses.replace(c, plan=fixed))
    return strategy


class CaseSource:
    """Case ``i`` of a campaign: ``source[i]``; ``source.iterate(start)``
    yields ``(i, case)`` from ``start`` on, for ever."""

    def __init__(
        self,
        system: SystemRef,
        seed: int,
        *,
        kinds: Sequence[str] | None = None,
        plan: FaultPlan | None = None,
    ) -> None:
        self.system = system
        self.seed = seed
        self.kinds = tuple(kinds) if kinds is not None else None
        self.plan = plan
        self._strategy = case_strategy(system, kinds=self.kinds, plan=plan)
        self._blocks: dict[int, list[Case]] = {}

    def fingerprint(self) -> str:
        """What decides the sequence besides the seed: the system, its options,
        the fault kinds or the fixed plan (a short digest)."""
        what = {
            "system": self.system.spec,
            "options": dict(self.system.options),
            "kinds": list(self.kinds) if self.kinds is not None else None,
            "plan": json.loads(self.plan.model_dump_json(exclude_defaults=True)) if self.plan else None,
        }
        return hashlib.blake2b(json.dumps(what, sort_keys=True).encode(), digest_size=6).hexdigest()

    def __getitem__(self, i: int) -> Case:
        if i < 0:
            raise IndexError(i)
        b, j = divmod(i, BLOCK)
        if b not in self._blocks:
            if len(self._blocks) > 2:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[b] = self._draw(b)
        return self._blocks[b][j]

    def iterate(self, start: int = 0) -> Iterator[tuple[int, Case]]:
        i = start
        while True:
            yield i, self[i]
            i += 1

    def _draw(self, block: int) -> list[Case]:
        drawn: list[Case] = []
        attempt = 0
        while len(drawn) < BLOCK:  # a strategy with fewer cases than a block: draw again, seeded anew
            key = f"{self.seed}/{block}/{attempt}/{self.fingerprint()}"
            digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
            before = len(drawn)
            _collect(self._strategy, int.from_bytes(digest, "big"), drawn)
            attempt += 1
            if len(drawn) == before:
                raise ValueError("the case strategy draws no cases")
        return drawn[:BLOCK]


def _collect(strategy: st.SearchStrategy[Case], key: int, into: list[Case]) -> None:
    @_SETTINGS
    @given(strategy)
    def collect(case: Case) -> None:
        into.append(case)

    with draws_from_seed_alone():
        hypothesis_seed(key)(collect)()


__all__ = ["BLOCK", "CaseSource", "case_strategy", "check_kinds", "kinds_family"]
