"""The seam for the system under test (see :mod:`harness.system.spec`)."""

from harness.system.assembly import all_ended, build_agents
from harness.system.declarations import Declarations, Stages, StateMachine, VersionedItems
from harness.system.driving import (
    TRANSIENT,
    Agent,
    RunTimeout,
    ThreadRunner,
    drive,
    next_wake,
    retry,
    step_safely,
)
from harness.system.spec import (
    DEFAULT_SYSTEM,
    AgentEnv,
    AgentSpec,
    System,
    SystemError_,
    SystemRef,
    Workload,
    load_object,
    load_system,
)
from harness.system.worker import (
    NotAWorker,
    PermanentFailure,
    Worker,
    WorkerKit,
    check_impls,
    check_worker,
    load_worker,
    worker_kit,
)

__all__ = [
    "DEFAULT_SYSTEM",
    "TRANSIENT",
    "Agent",
    "AgentEnv",
    "AgentSpec",
    "Declarations",
    "NotAWorker",
    "PermanentFailure",
    "RunTimeout",
    "Stages",
    "StateMachine",
    "System",
    "SystemError_",
    "SystemRef",
    "ThreadRunner",
    "VersionedItems",
    "Worker",
    "WorkerKit",
    "Workload",
    "all_ended",
    "build_agents",
    "check_impls",
    "check_worker",
    "drive",
    "load_object",
    "load_system",
    "load_worker",
    "next_wake",
    "retry",
    "step_safely",
    "worker_kit",
]
