"""A circuit breaker per capability: closed -> open -> half-open -> closed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown``
    seconds lets one trial through (half-open); its success closes the
    circuit, its failure opens it again."""

    threshold: int = 5
    cooldown: float = 10.0
    clock: Callable[[], float] = time.monotonic
    state: str = field(default=CLOSED, init=False)
    failures: int = field(default=0, init=False)
    opened_at: float = field(default=0.0, init=False)
    trial_in_flight: bool = field(default=False, init=False)
    on_change: Callable[[str, str], None] | None = None

    def _set(self, state: str) -> None:
        if state != self.state:
            old, self.state = self.state, state
            if self.on_change:
                self.on_change(old, state)

    def allow(self) -> bool:
        """May a request go through now?"""
        if self.state == OPEN and self.clock() - self.opened_at >= self.cooldown:
            self._set(HALF_OPEN)
            self.trial_in_flight = False
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.trial_in_flight = False
        self._set(CLOSED)

    def failure(self) -> None:
        self.failures += 1
        self.trial_in_flight = False
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self.opened_at = self.clock()
            self._set(OPEN)


class Breakers:
    """One breaker per capability, made on first use."""

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._make = lambda cap: CircuitBreaker(
            threshold, cooldown, clock, on_change=(lambda a, b: on_change(cap, a, b)) if on_change else None
        )
        self._by_cap: dict[str, CircuitBreaker] = {}

    def __getitem__(self, capability: str) -> CircuitBreaker:
        if capability not in self._by_cap:
            self._by_cap[capability] = self._make(capability)
        return self._by_cap[capability]
