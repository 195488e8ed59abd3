"""Driving step()-based agents: the agent protocol, and the drivers that do
not need the deterministic scheduler (one thread; a thread per agent)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

#: Errors an agent's step may meet on a bad day (throttling, a partition, a
#: lost acknowledgement): the step is abandoned and retried later. Anything
#: else is a bug and propagates.
TRANSIENT: tuple[type[BaseException], ...] = (ClientError, BotoCoreError)


@runtime_checkable
class Agent(Protocol):
    """One agent of a system under test: ``step()`` does one unit of work
    and says whether it did any.

    An agent may also offer ``next_wake() -> float | None``: when (on the
    clock it was given) it next has something to do on its own, with no
    message arriving: a timer, a periodic sweep, work it holds in memory
    (a time not after now: at once). None, or no such method: only when a
    queue it polls changes. Drivers use the hint to sleep idle agents, as a
    long poll would; none reads an agent's attributes otherwise.
    """

    def step(self) -> bool: ...


#: The older name of :class:`Agent`.
Steppable = Agent


def next_wake(agent: object) -> float | None:
    """The agent's own hint (see :class:`Agent`), or None."""
    hint = getattr(agent, "next_wake", None)
    return hint() if callable(hint) else None


def step_safely(agent: Agent) -> bool | None:
    """``agent.step()``, or None when it met a transient AWS error."""
    try:
        return agent.step()
    except TRANSIENT:
        return None


def retry(
    fn: Callable[[], object],
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 10,
    base: float = 0.05,
) -> None:
    """Call ``fn`` as a client would: retrying transient AWS errors with
    exponential backoff; the last attempt's error propagates."""
    for i in range(attempts - 1):
        try:
            fn()
            return
        except TRANSIENT:
            sleep(base * 2**i)
    fn()


class RunTimeout(TimeoutError):
    pass


def drive(
    agents: Sequence[Agent],
    until: Callable[[], bool],
    *,
    timeout: float = 60.0,
    idle_sleep: float = 0.01,
) -> int:
    """Step every agent in turn, in this thread, until ``until()``; returns the
    number of rounds. Sleeps briefly when a whole round found nothing to do."""
    deadline = time.monotonic() + timeout
    rounds = 0
    while not until():
        if time.monotonic() > deadline:
            raise RunTimeout(f"not finished after {timeout:.0f}s ({rounds} rounds)")
        busy = False
        for a in agents:
            busy = bool(step_safely(a)) or busy
        rounds += 1
        if not busy:
            time.sleep(idle_sleep)
    return rounds


class ThreadRunner:
    """Each agent in its own thread, stepping until stopped."""

    def __init__(self, agents: Sequence[Agent], idle_sleep: float = 0.01) -> None:
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._loop, args=(a, idle_sleep), name=f"agent-{i}", daemon=True)
            for i, a in enumerate(agents)
        ]

    def _loop(self, agent: Agent, idle_sleep: float) -> None:
        while not self._stop.is_set():
            try:
                if not step_safely(agent):
                    self._stop.wait(idle_sleep)
            except BaseException as e:  # surfaced by stop()
                self.errors.append(e)
                return

    def start(self) -> ThreadRunner:
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> ThreadRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
