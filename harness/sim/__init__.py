"""Deterministic runs: a seeded scheduler, agents interleaved call by call, and a virtual clock.

``simulate(SimConfig(...))`` runs a workload to the end; ``Simulation`` is the
same run one step at a time; a ``Case`` is a run saved for replay
(``python -m harness.sim replay CASE.json``).
"""

from harness.sim.case import Case
from harness.sim.clock import VirtualClock
from harness.sim.config import SimConfig, SimResult, default_scenario
from harness.sim.simulation import Simulation
from harness.sim.simulator import simulate

__all__ = [
    "Case",
    "SimConfig",
    "SimResult",
    "Simulation",
    "VirtualClock",
    "default_scenario",
    "simulate",
]
