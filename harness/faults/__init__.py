"""Fault plans and the injectors that carry them out."""

from harness.faults.contract import SERVICE_THROTTLE_CODES, THROTTLE_CODES
from harness.faults.injector import NEMESIS, AgentCrash, FaultInjector
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
    "SERVICE_THROTTLE_CODES",
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
