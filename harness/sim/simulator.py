"""The deterministic simulator: one thread steps every agent of the system
under test (the reference system by default) on moto in-process, a seeded scheduler picks the next step, and a
virtual clock stands in for time. The same seed and plan give the same
history, byte for byte.

:func:`simulate` runs a whole workload in one call; :class:`Simulation` is the
same run one step at a time.
"""

from __future__ import annotations

from harness.sim.config import SimConfig, SimResult
from harness.sim.simulation import MAX_BACKOFF, MIN_BACKOFF, Simulation


def simulate(cfg: SimConfig) -> SimResult:
    """Run the system under test (``cfg.system``) under ``cfg`` and return its history and invariants."""
    with Simulation(cfg) as sim:
        sim.submit_all()
        sim.run()
        return sim.result()


__all__ = ["MAX_BACKOFF", "MIN_BACKOFF", "SimConfig", "SimResult", "Simulation", "simulate"]
