"""Simulated latencies: what real AWS calls and model calls would cost in time."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.instrument.session import Call, HttpAndParsed
from harness.sim.clock import VirtualClock


class AwsLatency:
    """An interceptor that lets each AWS call take a seeded 5-30 ms of virtual time."""

    def __init__(
        self, clock: VirtualClock, rng: random.Random, low: float = 0.005, high: float = 0.030
    ) -> None:
        self.clock, self.rng, self.low, self.high = clock, rng, low, high

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed:
        out = proceed()
        self.clock.advance(self.rng.uniform(self.low, self.high))
        return out


@dataclass
class SlowModel:
    """A model whose answers take virtual time: a fixed delay plus a rate per output token."""

    inner: Any
    clock: VirtualClock
    first_token: float = 0.4
    per_token: float = 0.02

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Any:
        c = self.inner.complete(kind, prompt, context)
        self.clock.advance(self.first_token + self.per_token * c.output_tokens)
        return c
