"""Deterministic runs: a seeded scheduler and a virtual clock."""

from harness.sim.clock import VirtualClock
from harness.sim.config import SimConfig, SimResult
from harness.sim.simulation import Simulation
from harness.sim.simulator import simulate

__all__ = ["SimConfig", "SimResult", "Simulation", "VirtualClock", "simulate"]
