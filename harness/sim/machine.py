"""A Hypothesis state machine that drives a :class:`Simulation` rule by rule:
submit a request, deliver (let an agent handle what waits for it), let the
scheduler go on, duplicate a message, crash a worker (between steps or in the
middle of one), advance the clock. After every rule the safety properties are
checked on the history so far; at the end the run is drained and every
request must have ended, without a message retried for ever.

Run it against the reference system, or any other (a
:class:`~harness.system.SystemRef`)::

    from hypothesis.stateful import run_state_machine_as_test
    from harness.sim.machine import machine_for

    run_state_machine_as_test(machine_for(SystemRef("pkg.module:system")), settings=...)
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.sim.checks import check_history, check_liveness, check_retries, failures
from harness.sim.config import SimConfig
from harness.sim.explain import explain
from harness.sim.simulation import Simulation
from harness.strategies import requests
from harness.system import SystemRef

#: Requests a run may hold; more only make it longer.
MAX_REQUESTS = 3
BUDGETS = (4000, 300)
#: Virtual seconds the final drain may take.
DRAIN_SECONDS = 120.0


class PropertyBroken(AssertionError):
    """A property does not hold after a rule; the message has the witnesses."""


class SimulationMachine(RuleBasedStateMachine):
    """The simulated system as a state machine (see the module docstring)."""

    def __init__(self, system: SystemRef | None = None) -> None:
        super().__init__()
        self.system = system or SystemRef()
        self.sim: Simulation | None = None
        self.broken = False
        self.specs = self.system.load().checker_specs()

    @initialize(seed=st.integers(0, 2**16), data=st.data())
    def start(self, seed: int, data: st.DataObject) -> None:
        """Deploy the system and submit a first request."""
        cfg = SimConfig(
            seed=seed,
            workload=[],
            auditor=False,
            max_virtual_seconds=DRAIN_SECONDS,
            system=self.system.spec or None,
            options=dict(self.system.options),
        )
        self.sim = Simulation(cfg).start()
        self.submit(data)

    def _sim(self) -> Simulation:
        assert self.sim is not None
        return self.sim

    # -- rules -----------------------------------------------------------------------

    @precondition(lambda self: self.sim is not None and len(self.sim.submitted) < MAX_REQUESTS)
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        sim = self._sim()
        n = len(sim.submitted)
        sim.submit(data.draw(requests(n, budgets=BUDGETS, system=self.system.spec or None)))

    @rule(agent=st.integers(0, 15))
    def deliver(self, agent: int) -> None:
        sim = self._sim()
        sim.deliver(sim.agent_names[agent % len(sim.agent_names)])

    @rule(steps=st.integers(1, 12))
    def go_on(self, steps: int) -> None:
        """Let the seeded scheduler interleave the agents for a while."""
        sim = self._sim()
        for _ in range(steps):
            sim.step()

    @rule(queue=st.integers(0, 15), back=st.integers(0, 3))
    def duplicate(self, queue: int, back: int) -> None:
        """Deliver again a message of a standard queue (FIFO queues deduplicate)."""
        sim = self._sim()
        names = sim.duplicable_queues()
        if names:
            sim.duplicate(names[queue % len(names)], back)

    @rule(
        worker=st.integers(0, 15),
        after_calls=st.none() | st.integers(1, 6),
        restart_after=st.sampled_from([1.0, 5.0, 15.0]),
    )
    def crash_worker(self, worker: int, after_calls: int | None, restart_after: float) -> None:
        sim = self._sim()
        workers = sim.workers()
        name = workers[worker % len(workers)]
        sim.crash(name, after_calls=after_calls, restart_after=restart_after)

    @rule(seconds=st.sampled_from([0.5, 2.0, 6.0, 30.0]))
    def advance_clock(self, seconds: float) -> None:
        self._sim().advance(seconds)

    # -- properties ------------------------------------------------------------------

    @invariant()
    def safe(self) -> None:
        if self.sim is None:
            return
        ops = self.sim.ops
        bad = failures(check_history(ops, specs=self.specs))
        if bad:
            self.broken = True
            raise PropertyBroken(explain(bad, ops))

    def teardown(self) -> None:
        if self.sim is None:
            return
        try:
            if not self.broken:
                self._finish()
        finally:
            self.sim.close()
            self.sim = None

    def _finish(self) -> None:
        """Let the run end, then every request must have ended, and nothing
        been retried for ever."""
        sim = self._sim()
        sim.run(max_virtual_seconds=sim.clock.now() + DRAIN_SECONDS)
        ops = sim.ops
        note = f"after draining: {sim.stopped} at {sim.clock.now():.1f} virtual seconds"
        bad = failures(
            [
                *check_history(ops, specs=self.specs),
                check_liveness(
                    ops, sim.submitted, sim.task_states(), note=note, **_kw(self.specs, "liveness")
                ),
                check_retries(ops, **_kw(self.specs, "retries")),
            ]
        )
        if bad:
            raise PropertyBroken(explain(bad, ops))


def _kw(specs: dict[str, Any], name: str) -> dict[str, Any]:
    import inspect

    fn = check_liveness if name == "liveness" else check_retries
    params = inspect.signature(fn).parameters
    return {k: v for k, v in specs.get(name, {}).items() if k in params}


def machine_for(system: SystemRef) -> Any:
    """A factory for ``run_state_machine_as_test``."""
    return lambda: SimulationMachine(system)
