"""The generic drivers now live in :mod:`harness.system.driving`; this module
names them for the reference system's own code."""

from harness.system.driving import (
    TRANSIENT,
    Agent,
    RunTimeout,
    Steppable,
    ThreadRunner,
    drive,
    retry,
    step_safely,
)

__all__ = ["TRANSIENT", "Agent", "RunTimeout", "Steppable", "ThreadRunner", "drive", "retry", "step_safely"]
