"""Fault plans: a JSON document listing faults, each with a target, a trigger and a kind."""

from __future__ import annotations

import fnmatch
import hashlib
import random
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.faults.contract import refusal

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
#: How a ``model`` fault spoils an answer (``params.mode``; malformed by default).
MODEL_MODES: tuple[str, ...] = ("malformed", "empty", "timeout", "overlong")


class PlanError(ValueError):
    """A fault plan that cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Kinds that act on an agent or its model, never on an AWS call: a target
#: naming a resource is refused for them (a crash naming one is aimed at calls).
_NO_RESOURCE = {
    "pause": "a pause acts on an agent's steps",
    "clock_skew": "a clock skew acts on an agent's clock",
    "model": "a model fault acts on model calls",
}


class Target(_Strict):
    """What a fault applies to; each field is a glob (``*`` matches anything).

    ``resource``, when given, narrows the target to AWS calls that address a
    resource whose name matches it (see :func:`call_resources`); a call that
    addresses none never matches."""

    agent: str = "*"
    service: str = "*"
    operation: str = "*"
    resource: str | None = Field(
        default=None,
        min_length=1,
        description="a glob over the name of the queue, topic, table, event bus, "
        "state machine or function a call addresses",
    )

    @field_validator("resource")
    @classmethod
    def _a_name(cls, v: str | None) -> str | None:
        if v is not None and ("://" in v or v.startswith("arn:")):
            raise ValueError(f"{v!r} is a URL or an ARN: give the resource's name (a glob)")
        return v

    def matches(self, agent: str, service: str, operation: str, resources: Collection[str] = ()) -> bool:
        """Whether a call by ``agent`` of ``service.operation`` addressing
        ``resources`` (see :func:`call_resources`) is aimed at."""
        return (
            _glob(self.agent, agent)
            and _glob(self.service, service)
            and _glob(self.operation, operation)
            and (self.resource is None or any(_glob(self.resource, r) for r in resources))
        )

    def matches_agent(self, agent: str) -> bool:
        """Whether the fault is aimed at ``agent``, whatever the service and operation."""
        return _glob(self.agent, agent)


def _glob(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value or fnmatch.fnmatchcase(value, pattern)


def call_resources(service: str, operation: str, params: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of the resources an AWS call addresses (what
    ``Target.resource`` is matched against), sorted; () for none.

    The SQS queue (``QueueUrl`` or ``QueueName``), the SNS topic (``TopicArn``,
    ``TargetArn``, a subscription's topic, ``CreateTopic``'s name), every
    DynamoDB table in the request (``TableName``, ``RequestItems``,
    ``TransactItems``), the EventBridge bus (``EventBusName``, each event's
    bus, ``default`` when a rule or event call names none), the Step Functions
    state machine (from its or an execution's ARN, ``CreateStateMachine``'s
    name) and the Lambda function (``FunctionName``, also as an ARN)."""

    def text(key: str, within: Mapping[str, Any] = params) -> str | None:
        v = within.get(key)
        return v if isinstance(v, str) and v else None

    found: list[str | None] = []
    if service == "sqs":
        url = text("QueueUrl")
        found.append(url.rstrip("/").rsplit("/", 1)[-1] if url else text("QueueName"))
    elif service == "sns":
        arn = text("TopicArn") or text("TargetArn")
        sub = (text("SubscriptionArn") or "").split(":")
        if arn:
            found.append(arn.rsplit(":", 1)[-1])
        elif len(sub) >= 7:
            found.append(sub[5])
        elif operation == "CreateTopic":
            found.append(text("Name"))
    elif service == "dynamodb":
        found.append(text("TableName"))
        found.extend(k for k in params.get("RequestItems") or {} if isinstance(k, str))
        for item in params.get("TransactItems") or []:
            bodies = item.values() if isinstance(item, Mapping) else ()
            found.extend(text("TableName", b) for b in bodies if isinstance(b, Mapping))
        found = [t.split(":table/", 1)[-1].split("/", 1)[0] if t else None for t in found]
    elif service == "events":
        if operation == "PutEvents":
            entries = [e for e in params.get("Entries") or [] if isinstance(e, Mapping)]
            found.extend(text("EventBusName", e) or "default" for e in entries)
        elif operation in ("CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus"):
            found.append(text("Name"))
        elif "Rule" in operation or "Targets" in operation or "Permission" in operation:
            found.append(text("EventBusName") or "default")
        else:
            found.append(text("EventBusName"))
        found = [b.rsplit("/", 1)[-1] if b else None for b in found]
    elif service == "stepfunctions":
        arn = (text("stateMachineArn") or text("executionArn") or text("mapRunArn") or "").split(":")
        if len(arn) >= 7:
            found.append(arn[6].split("/", 1)[0])
        elif operation == "CreateStateMachine":
            found.append(text("name"))
    elif service == "lambda":
        parts = (text("FunctionName") or "").split(":")
        found.append(parts[parts.index("function") + 1] if "function" in parts[:-1] else parts[0])
    return tuple(sorted({r for r in found if r}))


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
    def _check_target(self) -> Fault:
        why = _NO_RESOURCE.get(self.kind)
        if why is not None and self.target.resource is not None:
            raise _FieldError(
                ("target", "resource"), f"{why}, which address no resource: leave resource out ({self.kind})"
            )
        return self

    @model_validator(mode="after")
    def _check_params(self) -> Fault:
        p = self.params
        if self.kind in ("delay", "pause", "clock_skew"):
            secs = p.get("seconds", 1.0)
            if not _is_number(secs):
                raise _ParamError("seconds", f"must be a number ({self.kind})")
            if self.kind != "clock_skew" and secs < 0:
                raise _ParamError("seconds", f"must not be negative ({self.kind})")
        if self.kind == "model" and p.get("mode", "malformed") not in MODEL_MODES:
            raise _ParamError("mode", "must be malformed, empty, timeout or overlong (model)")
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

    @model_validator(mode="after")
    def _check_contract(self) -> Fault:
        """Refuse a fault AWS could never produce where it is aimed (see
        :mod:`harness.faults.contract`)."""
        why = refusal(self.kind, self.target, self.params)
        if why is not None:
            raise _FieldError(*why)
        return self


class _FieldError(ValueError):
    """A bad field found by a fault-wide check; ``parse`` names ``loc`` (below
    the fault) in the error's location."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _ParamError(_FieldError):
    """A bad ``params`` entry."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(("params", name), message)
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
            if isinstance(cause, _FieldError):
                parts += list(cause.loc)
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
