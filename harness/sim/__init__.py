"""Deterministic runs: a seeded scheduler and a virtual clock."""

from harness.sim.clock import VirtualClock
from harness.sim.simulator import SimConfig, SimResult, simulate

__all__ = ["SimConfig", "SimResult", "VirtualClock", "simulate"]
