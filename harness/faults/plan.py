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

    def matches_agent(self, agent: str) -> bool:
        """Whether the fault is aimed at ``agent``, whatever the service and operation."""
        return _glob(self.agent, agent)


def _glob(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value or fnmatch.fnmatchcase(value, pattern)


class Window(_Strict):
    """Seconds since the start of the run, on the virtual clock in the simulator
    and the real one elsewhere."""

    start: float = Field(default=0.0, ge=0)
    end: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_order(self) -> Window:
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")
        return self

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
        if self.kind in ("delay", "pause", "clock_skew"):
            secs = p.get("seconds", 1.0)
            if not _is_number(secs):
                raise _ParamError("seconds", f"must be a number ({self.kind})")
            if self.kind != "clock_skew" and secs < 0:
                raise _ParamError("seconds", f"must not be negative ({self.kind})")
        if self.kind == "model" and p.get("mode", "malformed") not in ("malformed", "timeout", "overlong"):
            raise _ParamError("mode", "must be malformed, timeout or overlong (model)")
        if self.kind == "crash":
            if p.get("when", "after") not in ("before", "after"):
                raise _ParamError("when", "must be before or after (crash)")
            r = p.get("restart_after", 5.0)
            if r is not None and (not _is_number(r) or r < 0):
                raise _ParamError("restart_after", "must be a non-negative number or null (crash)")
        if self.kind == "throttle" and "code" in p and not (isinstance(p["code"], str) and p["code"]):
            raise _ParamError("code", "must be an error code string (throttle)")
        err = p.get("error", "timeout")
        if self.kind == "lose_ack" and not (isinstance(err, str) and err):
            raise _ParamError("error", "must be timeout or an error code string (lose_ack)")
        return self


class _ParamError(ValueError):
    """A bad ``params`` entry; ``parse`` names it in the error's location."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
            data = p.read_bytes()
        except OSError as e:
            raise PlanError(_one_line(f"{p}: cannot read fault plan: {e.strerror or e}")) from None
        return cls.parse(data, str(p))

    @classmethod
    def parse(cls, text: str | bytes, source: str = "fault plan") -> FaultPlan:
        """Validate a plan; any problem is a PlanError with a one-line message
        naming ``source`` and the offending field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            err = e.errors()[0]
            parts = [str(x) for x in err["loc"]]
            msg = str(err["msg"])
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, _ParamError):
                parts += ["params", cause.name]
                msg = str(cause)
            elif isinstance(cause, ValueError):
                msg = str(cause)
            loc = ".".join(parts) or "(top level)"
            more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
            raise PlanError(_one_line(f"{source}: {loc}: {msg}{more}")) from None

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2, exclude_defaults=True) + "\n")


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


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
