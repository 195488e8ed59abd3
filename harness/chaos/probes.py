"""Chaos Toolkit probes: what the running reference system looks like now.

Plain functions; the keyword arguments are JSON-friendly, and each takes
``configuration`` and ``secrets`` last, as Chaos Toolkit passes them.
"""

# No `from __future__ import annotations`: discovery reads these annotations as types.
import fnmatch
import logging
import time
from typing import Any

from harness.chaos import system
from harness.chaos.invariants import HOLDS, judge

__all__ = ["dlq_is_empty", "faults_injected", "invariants_hold", "queue_depth", "tasks_in_flight"]

logger = logging.getLogger("chaostoolkit")


def invariants_hold(
    settle_timeout: float = 30.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Wait up to settle_timeout s for the system to go quiet, then run every checker on the history so far."""
    cluster = system.current(configuration)
    settled = cluster.settle(settle_timeout)
    decl = cluster.system.declarations
    fed = [cluster.queue_url(q).rsplit("/", 1)[-1] for qs in decl.fanout.values() for q in qs]
    result = judge(
        cluster.history(),
        cluster.submitted,
        cluster.task_states(),
        sns_fed_queues=fed,
        specs=cluster.system.checker_specs(),
    )
    result["settled"] = settled
    for line in result["violated"]:
        logger.error(f"invariant violated: {line}")
    for line in result["unknown"]:
        logger.warning(f"invariant undecided: {line}")
    if result["verdict"] == HOLDS:
        logger.info(
            f"every invariant holds ({result['operations']} operations, {result['requests']} requests)"
        )
    return result


def tasks_in_flight(
    settle_timeout: float = 0.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> int:
    """Submitted requests not yet done or failed, after waiting up to settle_timeout s for none to be left."""
    cluster = system.current(configuration)
    deadline = time.monotonic() + settle_timeout
    while True:
        left = cluster.in_flight()
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    if left:
        logger.warning(f"{len(left)} request(s) still in flight, e.g. {', '.join(left[:3])}")
    return len(left)


def queue_depth(
    queue: str = "all",
    include_in_flight: bool = True,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> int:
    """Messages in one of the system's queues (by name, without the run's prefix) or all its work queues."""
    cluster = system.current(configuration)
    names = cluster.work_queues() if queue == "all" else (queue,)
    return sum(cluster.queue_depth(q, in_flight=include_in_flight) for q in names)


def dlq_is_empty(configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None) -> bool:
    """No message was dead-lettered: every DLQ is empty and the history shows none drained from one."""
    cluster = system.current(configuration)
    depth = {q: cluster.queue_depth(q) for q in cluster.dead_letter_queues()}
    dlq_names = {cluster.queue_url(q).rsplit("/", 1)[-1] for q in depth}
    drained = sum(
        len((op.value or {}).get("messages") or [])
        for op in cluster.history()
        if op.f == "sqs.ReceiveMessage"
        and op.type == "ok"
        and op.key in dlq_names
        and isinstance(op.value, dict)
    )
    waiting = sum(depth.values())
    if waiting or drained:
        logger.warning(f"dead letters: {waiting} waiting, {drained} drained by the supervisor")
    return waiting == 0 and drained == 0


def faults_injected(
    kind: str = "*", configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> int:
    """Faults injected so far whose kind matches the glob (crash, partition, duplicate_delivery, kill, ...)."""
    cluster = system.current(configuration)
    return sum(
        1
        for op in cluster.history()
        if op.f.startswith("fault.") and fnmatch.fnmatchcase(op.f.removeprefix("fault."), kind)
    )
