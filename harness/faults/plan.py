"""Fault plans: a JSON document listing faults, each with a target, a trigger and a kind."""

from __future__ import annotations

import fnmatch
import hashlib
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FaultKind = Literal[
    "drop_request",
    "lose_ack",
    "duplicate_delivery",
    "reorder",
    "delay",
    "throttle",
    "stale_read",
    "partition",
    "crash",
    "pause",
    "clock_skew",
    "model",
]

#: Kinds carried out on AWS calls by the instrumented Session's interceptor.
CALL_KINDS = frozenset(
    {
        "drop_request",
        "lose_ack",
        "duplicate_delivery",
        "reorder",
        "delay",
        "throttle",
        "stale_read",
        "partition",
    }
)
#: Kinds carried out on agents by their runner.
PROCESS_KINDS = frozenset({"crash", "pause", "clock_skew"})


class PlanError(ValueError):
    """A fault plan that cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """What a fault applies to; each field is a glob (``*`` matches anything)."""

    agent: str = "*"
    service: str = "*"
    operation: str = "*"

    def matches(self, agent: str, service: str, operation: str) -> bool:
        return _glob(self.agent, agent) and _glob(self.service, service) and _glob(self.operation, operation)


def _glob(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value or fnmatch.fnmatchcase(value, pattern)


class Window(_Strict):
    """Seconds since the start of the run, on the virtual clock in the simulator
    and the real one elsewhere."""

    start: float = Field(default=0.0, ge=0)
    end: float | None = Field(default=None, ge=0)

    def contains(self, t: float) -> bool:
        return t >= self.start and (self.end is None or t < self.end)


class Trigger(_Strict):
    """When a fault fires on a matching event. All given conditions must hold;
    with none given it fires on every match (up to ``max_count``)."""

    nth: int | None = Field(default=None, ge=1, description="only the nth matching event (1-based)")
    every: int | None = Field(default=None, ge=1, description="every kth matching event")
    probability: float | None = Field(default=None, ge=0, le=1, description="drawn from the plan's seed")
    window: Window | None = None
    max_count: int | None = Field(default=None, ge=0)


class Fault(_Strict):
    kind: FaultKind
    id: str | None = None
    target: Target = Target()
    trigger: Trigger = Trigger()
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_params(self) -> Fault:
        p = self.params
        if self.kind in ("delay", "pause", "clock_skew") and not isinstance(
            p.get("seconds", 1.0), (int, float)
        ):
            raise ValueError(f"{self.kind}: params.seconds must be a number")
        if self.kind == "model" and p.get("mode", "malformed") not in ("malformed", "timeout", "overlong"):
            raise ValueError("model: params.mode must be malformed, timeout or overlong")
        return self


class FaultPlan(_Strict):
    """A seeded list of faults. The same plan and seed give the same faults."""

    seed: int = 0
    faults: list[Fault] = Field(default_factory=list)

    def named(self) -> list[tuple[str, Fault]]:
        """Each fault with a stable name (its id, or kind#index)."""
        return [(f.id or f"{f.kind}#{i}", f) for i, f in enumerate(self.faults)]

    def rng_for(self, name: str) -> random.Random:
        h = hashlib.blake2b(f"{self.seed}|{name}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(h, "big"))

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise PlanError(f"{p}: cannot read fault plan: {e.strerror}") from None
        return cls.parse(text, str(p))

    @classmethod
    def parse(cls, text: str, source: str = "fault plan") -> FaultPlan:
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
            raise PlanError(f"{source}: {loc}: {err['msg']}{more}") from None

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2, exclude_defaults=True) + "\n")


class FaultState:
    """Counts matches and firings of one fault and decides whether it fires."""

    def __init__(self, name: str, fault: Fault, rng: random.Random) -> None:
        self.name = name
        self.fault = fault
        self.rng = rng
        self.matched = 0
        self.fired = 0

    def should_fire(self, now: float) -> bool:
        t = self.fault.trigger
        if t.window is not None and not t.window.contains(now):
            return False
        self.matched += 1
        if t.max_count is not None and self.fired >= t.max_count:
            return False
        if t.nth is not None and self.matched != t.nth:
            return False
        if t.every is not None and self.matched % t.every != 0:
            return False
        # Draw only when a probability is given, so other faults' streams stay put.
        if t.probability is not None and self.rng.random() >= t.probability:
            return False
        self.fired += 1
        return True
