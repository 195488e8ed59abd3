"""The ``sim`` fixture: the system under test in the deterministic simulator."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.faults.plan import FaultPlan
from harness.sim.case import KNOBS, Case, check_knobs
from harness.sim.config import SimResult
from harness.system import SystemRef


class SimRunner:
    """Call it to simulate a workload; every run is checked after the test.

    ``sim(requests=2)`` runs two requests of the system's seeded workload
    under the test's fault plan; ``sim(workload=[...], plan=..., schedule=[...])``
    says exactly what to run. The knobs of :class:`~harness.sim.case.Case`
    (``workers`` per role, ``supervisors``, ``visibility_timeout``,
    ``max_virtual_seconds``, ``auditor``) are keyword arguments too, with
    defaults from the test's ``harness_sim(...)`` marker; so are the
    options the system declares (``sim(reads="eventual")``), and
    ``options={...}`` passes any. Returns the :class:`~harness.sim.SimResult`.
    """

    def __init__(
        self,
        seed: int,
        plan: FaultPlan,
        system: SystemRef,
        record: Callable[[Case, SimResult], None],
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.seed = seed
        self.plan = plan
        self.system = system
        self._record = record
        #: Knobs and options from the ``harness_sim`` marker.
        self.defaults = self._split(dict(defaults or {}), "harness_sim")

    def _split(self, kw: dict[str, Any], where: str) -> dict[str, Any]:
        """Knobs and ``options`` as given; keyword arguments the system declares as options moved into ``options``."""
        declared = self.system.load().options
        options = dict(kw.pop("options", None) or {})
        for k in [k for k in kw if k not in KNOBS]:
            if k not in declared:
                raise TypeError(
                    f"{where}: unexpected keyword {k!r}: not a knob ({', '.join(KNOBS)}) nor an option "
                    f"of system {self.system.describe()} ({', '.join(declared) or 'none'}); "
                    "options={...} passes any option"
                )
            options[k] = kw.pop(k)
        try:
            check_knobs(self.system.spec, **kw)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        return {**kw, "options": options}

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
        given = self._split(kw, "sim()")
        knobs = {**KNOBS, **self.defaults, **given}
        options = {**self.system.options, **self.defaults["options"], **given["options"]}
        knobs.pop("options")
        s = self.seed if seed is None else seed
        wl = self.system.load().workload
        reqs = list(workload) if workload is not None else wl.requests(requests, s)
        return Case.of(
            s,
            reqs,
            plan if plan is not None else self.plan,
            list(schedule),
            self.system.spec,
            options,
            **knobs,
        )

    def run(self, case: Case) -> SimResult:
        from harness.sim.forkserver import simulate  # from a deployed state when that pays

        result = simulate(case.config())
        self._record(case, result)
        return result

    def __call__(self, requests: int = 1, **kw: Any) -> SimResult:
        return self.run(self.case(requests, **kw))
