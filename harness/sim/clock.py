"""The virtual clock: time-machine freezes the process's wall clock and the
simulator moves it forward, so moto's visibility timeouts, the agents'
backoffs and time-window triggers all run on simulated time."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import time_machine

#: Where simulated time starts (a fixed instant, so runs are repeatable).
EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


class VirtualClock:
    """Seconds since the start of the simulation; only ``advance`` moves it."""

    def __init__(self, start: dt.datetime = EPOCH) -> None:
        self._travel = time_machine.travel(start, tick=False)
        self._traveller: Any = None
        self._ns = 0

    def start(self) -> VirtualClock:
        self._traveller = self._travel.start()
        return self

    def stop(self) -> None:
        if self._traveller is not None:
            self._travel.stop()
            self._traveller = None

    def __enter__(self) -> VirtualClock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> float:
        return self._ns / 1e9

    def now_ns(self) -> int:
        return self._ns

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._shift_ns(max(1, round(seconds * 1e9)))

    def advance_to(self, t: float) -> None:
        """Move to ``t`` seconds (never backwards; always reaches ``t``)."""
        if t > self.now():
            # At least one nanosecond, so that ``now() >= t`` holds afterwards
            # whatever the float rounding of ``t``.
            self._shift_ns(max(1, math.ceil(t * 1e9) - self._ns))

    def _shift_ns(self, ns: int) -> None:
        self._ns += ns
        if self._traveller is not None:
            self._traveller.shift(dt.timedelta(microseconds=ns / 1000))
