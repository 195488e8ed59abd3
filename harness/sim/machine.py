"""A Hypothesis state machine that drives a :class:`Simulation` rule by rule:
submit a request, deliver (let an agent handle what waits for it), let the
scheduler go on, duplicate a message, crash a worker (between steps or in the
middle of one), advance the clock. After every rule the safety properties are
checked on the history so far; at the end the run is drained and every
request must have ended, without a message retried for ever.

Run it against the reference system, or another one::

    from hypothesis.stateful import run_state_machine_as_test
    from harness.sim.machine import SimulationMachine

    run_state_machine_as_test(lambda: SimulationMachine(system), settings=...)
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.sim.case import System
from harness.sim.checks import check_history, check_liveness, check_retries, failures
from harness.sim.config import SimConfig
from harness.sim.explain import explain
from harness.sim.simulation import DUPLICABLE, Simulation

WORKERS = ("research-1", "write-1", "review-1")
AGENTS = ("supervisor", *WORKERS)
#: Requests a run may hold; more only make it longer.
MAX_REQUESTS = 3
TOPICS = ("heat pumps", "coffee prices", "port congestion")
BUDGETS = (4000, 300)
#: Virtual seconds the final drain may take.
DRAIN_SECONDS = 120.0


class PropertyBroken(AssertionError):
    """A property does not hold after a rule; the message has the witnesses."""


class SimulationMachine(RuleBasedStateMachine):
    """The simulated system as a state machine (see the module docstring)."""

    def __init__(self, system: System | None = None) -> None:
        super().__init__()
        self.system = system or System()
        self.sim: Simulation | None = None
        self.broken = False

    @initialize(seed=st.integers(0, 2**16), topic=st.sampled_from(TOPICS), budget=st.sampled_from(BUDGETS))
    def start(self, seed: int, topic: str, budget: int) -> None:
        """Deploy the system and submit a first request."""
        cfg = SimConfig(seed=seed, workload=[], auditor=False, max_virtual_seconds=DRAIN_SECONDS)
        self.sim = Simulation(self.system.configure(cfg)).start()
        self.submit(topic, budget)

    def _sim(self) -> Simulation:
        assert self.sim is not None
        return self.sim

    # -- rules -----------------------------------------------------------------------

    @precondition(lambda self: self.sim is not None and len(self.sim.submitted) < MAX_REQUESTS)
    @rule(
        topic=st.sampled_from(["heat pumps", "coffee prices", "port congestion"]),
        budget=st.sampled_from([4000, 300]),
    )
    def submit(self, topic: str, budget: int) -> None:
        from reference_system.messages import BriefRequest

        sim = self._sim()
        sim.submit(BriefRequest(request_id=f"r{len(sim.submitted)}", topic=topic, token_budget=budget))

    @rule(agent=st.sampled_from(AGENTS))
    def deliver(self, agent: str) -> None:
        self._sim().deliver(agent)

    @rule(steps=st.integers(1, 12))
    def go_on(self, steps: int) -> None:
        """Let the seeded scheduler interleave the agents for a while."""
        sim = self._sim()
        for _ in range(steps):
            sim.step()

    @rule(queue=st.sampled_from(DUPLICABLE[:4]), back=st.integers(0, 3))
    def duplicate(self, queue: str, back: int) -> None:
        self._sim().duplicate(queue, back)

    @rule(
        worker=st.sampled_from(WORKERS),
        after_calls=st.none() | st.integers(1, 6),
        restart_after=st.sampled_from([1.0, 5.0, 15.0]),
    )
    def crash_worker(self, worker: str, after_calls: int | None, restart_after: float) -> None:
        self._sim().crash(worker, after_calls=after_calls, restart_after=restart_after)

    @rule(seconds=st.sampled_from([0.5, 2.0, 6.0, 30.0]))
    def advance_clock(self, seconds: float) -> None:
        self._sim().advance(seconds)

    # -- properties ------------------------------------------------------------------

    @invariant()
    def safe(self) -> None:
        if self.sim is None:
            return
        ops = self.sim.ops
        bad = failures(check_history(ops))
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
                *check_history(ops),
                check_liveness(ops, sim.submitted, sim.task_states(), note=note),
                check_retries(ops),
            ]
        )
        if bad:
            raise PropertyBroken(explain(bad, ops))


def machine_for(system: System) -> Any:
    """A factory for ``run_state_machine_as_test``."""
    return lambda: SimulationMachine(system)
