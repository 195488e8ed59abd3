"""Small statistics for repeated measurements, and the alternating A/B schedule."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Summary:
    """Median and spread of a sample."""

    n: int
    median: float
    min: float
    max: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        if not values:
            raise ValueError("no values to summarize")
        xs = sorted(values)
        if len(xs) >= 2:
            q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        else:
            q1 = q3 = xs[0]
        return cls(len(xs), statistics.median(xs), xs[0], xs[-1], q1, q3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


@dataclass(frozen=True)
class Timing:
    """Seconds of wall-clock time, of this process's CPU time (every thread:
    in server mode that includes moto's) and of it spent in the cyclic garbage
    collector. CPU time moves less than wall time when other processes compete
    for the machine."""

    wall: float
    cpu: float
    gc: float = 0.0


class _GcClock:
    """Wall time spent in garbage collections, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


def timed(fn: Callable[[], T]) -> tuple[Timing, T]:
    """Time ``fn()``, after a full garbage collection."""
    gc.collect()
    clock = _GcClock()
    gc.callbacks.append(clock)
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        gc.callbacks.remove(clock)
    return Timing(wall, cpu, clock.total), out


def alternating(repeat: int) -> Iterator[tuple[int, tuple[str, str]]]:
    """The order of the two variants ``"a"`` and ``"b"`` in each of ``repeat``
    pairs: AB, BA, AB, ... so that drift (thermal, caches, a neighbour's load)
    weighs on both alike and neither always runs first."""
    for i in range(repeat):
        yield i, (("a", "b") if i % 2 == 0 else ("b", "a"))
