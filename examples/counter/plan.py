"""The default fault plan aimed at the counter system's agents.

:func:`harness.faults.defaults.default_plan` aims its faults by agent name
globs; most fit any system whose agents are named ``<role>-<n>``
(``*-[0-9]*``, ``*-1``), but its pause is aimed at the reference system's
``supervisor``, which this system does not have. :func:`fault_plan` is the
same plan, fault for fault, with every fault that would reach none of this
system's agents aimed at the intake instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from harness.faults.defaults import default_plan
from harness.faults.plan import FaultPlan

AGENTS: tuple[str, ...] = ("intake-1", "counter-1", "counter-2")


def retarget(plan: FaultPlan, agents: Sequence[str], to: str) -> FaultPlan:
    """``plan`` with each fault whose agent glob matches none of ``agents`` aimed at ``to``."""
    faults = []
    for f in plan.faults:
        if not any(fnmatchcase(a, f.target.agent) for a in agents):
            f = f.model_copy(update={"target": f.target.model_copy(update={"agent": to})})
        faults.append(f)
    return plan.model_copy(update={"faults": faults})


def fault_plan(seed: int = 0) -> FaultPlan:
    """The default plan's faults (same kinds, triggers and parameters), aimed at this system."""
    return retarget(default_plan(seed), AGENTS, "intake-1")
