"""Agents that can be stopped between any two AWS calls.

Each agent's steps run in a thread of its own, but only one thread ever runs
at a time: the scheduler hands a baton to an agent, which runs until its next
AWS call (a *yield point*) or the end of its step, and hands the baton back.
So the scheduler interleaves agents call by call, as real processes
interleave, and a run is still as deterministic as the choices it makes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from harness.faults.injector import AgentCrash

#: How long the scheduler waits for an agent to reach its next yield point
#: (real seconds). An agent that takes longer is blocked on something outside
#: the simulation: a bug in the simulator or in the agent.
HANDOFF_TIMEOUT = 120.0


class SimulatorStuck(RuntimeError):
    """An agent did not hand the baton back."""


class _Stop(BaseException):  # noqa: N818 - control flow, not an error
    """Ends an agent's thread when the simulation closes."""


class Runner:
    """Runs one agent's steps in its own thread, one segment at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._go = threading.Semaphore(0)
        self._back = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._fn: Callable[[], Any] | None = None
        self._kill: BaseException | None = None
        #: Crashed during this step: any further call it tries fails at once
        #: (a dead process runs no ``finally`` blocks that talk to AWS).
        self.dead = False
        self.mid_step = False
        #: How the last step ended: ("ok", value) or ("raised", exception).
        self.outcome: tuple[str, Any] | None = None

    # -- the scheduler's side ------------------------------------------------------

    def start(self, fn: Callable[[], Any]) -> bool:
        """Begin a step running ``fn``; returns True once it has ended, False
        if it stopped at a yield point (call :meth:`resume` to go on)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"sim-{self.name}", daemon=True)
            self._thread.start()
        self._fn = fn
        self.outcome = None
        self.dead = False
        self.mid_step = True
        return self._handoff()

    def resume(self) -> bool:
        """Go on with the step until its next yield point or its end."""
        return self._handoff()

    def crash(self) -> bool:
        """Crash the agent where it stands (it is at a yield point: before a call)."""
        self._kill = AgentCrash(self.name)
        return self._handoff()

    def close(self) -> None:
        if self._thread is None:
            return
        self._kill = _Stop()
        self._fn = None
        self._go.release()
        self._thread.join(timeout=10)
        self._thread = None

    def _handoff(self) -> bool:
        self._go.release()
        if not self._back.acquire(timeout=HANDOFF_TIMEOUT):
            raise SimulatorStuck(f"agent {self.name} did not yield within {HANDOFF_TIMEOUT:.0f} s")
        return not self.mid_step

    # -- the agent's side -----------------------------------------------------------

    def in_agent_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def yield_point(self) -> None:
        """Hand the baton back and wait for it (called in the agent's thread)."""
        if self.dead:
            raise AgentCrash(self.name)
        self._back.release()
        self._go.acquire()
        if self._kill is not None:
            kill, self._kill = self._kill, None
            self.dead = True
            raise kill

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            if isinstance(self._kill, _Stop):
                return
            self._kill = None
            fn = self._fn
            try:
                self.outcome = ("ok", fn() if fn is not None else None)
            except _Stop:
                self.mid_step = False
                self._back.release()
                return
            except BaseException as e:  # the scheduler decides what it means
                self.outcome = ("raised", e)
            self.mid_step = False
            self._back.release()


class Yielder:
    """An interceptor that makes every AWS call of an agent a yield point."""

    def __init__(self, runners: dict[str, Runner]) -> None:
        self.runners = runners

    def intercept(self, call: Any, proceed: Callable[[], Any]) -> Any:
        r = self.runners.get(call.agent)
        if r is None or not r.in_agent_thread():
            return proceed()
        r.yield_point()
        try:
            return proceed()
        except AgentCrash:
            r.dead = True
            raise
