"""A system's agents built in one process, for drivers that need nothing but
the agents themselves (one thread, a benchmark, a test): the simulator, the
live fixture and the agent process build theirs with faults and clocks of
their own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.system.declarations import StateMachine
from harness.system.driving import Agent
from harness.system.spec import AgentEnv, System


def build_agents(
    system: System,
    resources: Any,
    session_for: Callable[[str], Any],
    *,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
    model: Any = None,
    clock: Callable[[], float] = time.monotonic,
    ids: Callable[[], str] | None = None,
) -> dict[str, Agent]:
    """Every agent of ``system`` by name, each built from ``session_for(name)``
    (``model``: the model port every agent gets; default: the system's own)."""
    opts = system.merged(options)
    if model is None and system.model is not None:
        model = system.model(seed)
    fresh = ids or (lambda: uuid.uuid4().hex)
    return {
        spec.name: spec.make(
            AgentEnv(
                name=spec.name,
                session=session_for(spec.name),
                resources=resources,
                model=model,
                clock=clock,
                ids=fresh,
                seed=seed,
                options=opts,
            )
        )
        for spec in system.agent_specs(resources, opts)
    }


def all_ended(system: System, states: Mapping[str, str], tasks: list[str]) -> bool:
    """Every one of ``tasks`` is in a terminal state the system declares (done or failed if none)."""
    sm: StateMachine | None = system.declarations.state_machine
    terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})
    return all(states.get(t) in terminal for t in tasks)
