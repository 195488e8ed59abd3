"""Chaos Toolkit actions: faults to inject into the running reference system,
and the work to inject them into.

Plain functions; the keyword arguments are JSON-friendly, and each takes
``configuration`` and ``secrets`` last, as Chaos Toolkit passes them. The
undoing actions (``clear_fault_plans``, ``heal``) never start a system: as
rollbacks they act on whatever runs, and do nothing when nothing does.
"""

# No `from __future__ import annotations`: discovery reads these annotations as types.
from typing import Any

from harness.chaos import system
from harness.faults import FaultPlan

__all__ = [
    "apply_fault_plan",
    "clear_fault_plans",
    "heal",
    "kill_worker",
    "partition_agent",
    "pause_worker",
    "submit_requests",
]


def submit_requests(
    count: int = 4, configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Send count more requests (seeded) to the system's intake queue."""
    ids = system.current(configuration).submit(int(count))
    return {"submitted": ids}


def apply_fault_plan(
    plan: dict,
    name: str = "plan",
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Inject a fault plan (harness.faults.FaultPlan as JSON) into every agent, replacing one of the same name."""
    parsed = FaultPlan.parse(_json(plan), f"fault plan {name!r}")
    system.current(configuration).apply_plan(parsed, name)
    return {"plan": name, "faults": [f.id or f.kind for f in parsed.faults]}


def clear_fault_plans(
    name: str = "", configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Remove the named fault plan, or every plan when name is empty."""
    cluster = system.running()
    return {"cleared": cluster.clear_plans(name or None) if cluster else []}


def kill_worker(
    agent: str = "worker-1",
    restart_after: float = 1.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SIGKILL an agent process (worker-N or supervisor); it is restarted after restart_after s."""
    pid = system.current(configuration).kill(agent, restart_after=float(restart_after))
    return {"agent": agent, "killed": pid}


def pause_worker(
    agent: str = "worker-1",
    seconds: float = 5.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SIGSTOP an agent process for seconds (0: until heal), then SIGCONT it."""
    paused = system.current(configuration).pause(agent, float(seconds))
    return {"agent": agent, "paused": paused, "seconds": seconds}


def partition_agent(
    agent: str = "worker-1",
    service: str = "*",
    seconds: float = 0.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cut an agent off from one service (sqs, sns, dynamodb, ...) or all, for seconds (0: until heal)."""
    how = system.current(configuration).partition(agent, service, float(seconds))
    return {"agent": agent, "service": service, "how": how}


def heal(
    agent: str = "*", configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """End the partitions and pauses of the agents matching the glob."""
    cluster = system.running()
    return cluster.heal(agent) if cluster else {"healed": [], "resumed": []}


def _json(plan: Any) -> str:
    import json

    return plan if isinstance(plan, str) else json.dumps(plan)
