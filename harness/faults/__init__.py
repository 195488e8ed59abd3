"""Fault plans and the injectors that carry them out."""

from harness.faults.injector import NEMESIS, THROTTLE_CODES, AgentCrash, FaultInjector
from harness.faults.model import FaultyModel, ModelTimeout
from harness.faults.plan import (
    CALL_KINDS,
    PROCESS_KINDS,
    Fault,
    FaultPlan,
    PlanError,
    Target,
    Trigger,
    Window,
    call_resources,
)
from harness.faults.proxy import TcpProxy

__all__ = [
    "CALL_KINDS",
    "NEMESIS",
    "PROCESS_KINDS",
    "THROTTLE_CODES",
    "AgentCrash",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultyModel",
    "ModelTimeout",
    "PlanError",
    "Target",
    "TcpProxy",
    "Trigger",
    "Window",
    "call_resources",
]
