"""The ``sim`` fixture: the system under test in the deterministic simulator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.faults.plan import FaultPlan
from harness.sim.case import Case
from harness.sim.config import SimResult
from harness.system import SystemRef


class SimRunner:
    """Call it to simulate a workload; every run is checked after the test.

    ``sim(requests=2)`` runs two requests of the system's seeded workload
    under the test's fault plan; ``sim(workload=[...], plan=..., schedule=[...])``
    says exactly what to run. Returns the :class:`~harness.sim.SimResult`.
    """

    def __init__(
        self, seed: int, plan: FaultPlan, system: SystemRef, record: Callable[[Case, SimResult], None]
    ) -> None:
        self.seed = seed
        self.plan = plan
        self.system = system
        self._record = record

    def case(
        self,
        requests: int = 1,
        *,
        workload: Sequence[Any] | None = None,
        plan: FaultPlan | None = None,
        schedule: Sequence[int] = (),
        seed: int | None = None,
        **kw: Any,
    ) -> Case:
        """The case a call with the same arguments runs."""
        s = self.seed if seed is None else seed
        wl = self.system.load().workload
        reqs = list(workload) if workload is not None else wl.requests(requests, s)
        options = {**self.system.options, **kw.pop("options", {})}
        return Case.of(
            s, reqs, plan if plan is not None else self.plan, list(schedule), self.system.spec, options, **kw
        )

    def run(self, case: Case) -> SimResult:
        from harness.sim.simulator import simulate

        result = simulate(case.config())
        self._record(case, result)
        return result

    def __call__(self, requests: int = 1, **kw: Any) -> SimResult:
        return self.run(self.case(requests, **kw))
