"""A supervisor-plus-workers system on SQS, SNS and DynamoDB: the harness's
first subject and the example to copy."""

from reference_system.llm import Completion, Model, ScriptedModel
from reference_system.resources import CAPABILITIES, Resources, deploy
from reference_system.supervisor import Supervisor
from reference_system.worker_loop import WorkerLoop
from reference_system.workers import DEFAULT_WORKERS, Worker, WorkerContext

__all__ = [
    "CAPABILITIES",
    "DEFAULT_WORKERS",
    "Completion",
    "Model",
    "Resources",
    "ScriptedModel",
    "Supervisor",
    "Worker",
    "WorkerContext",
    "WorkerLoop",
    "deploy",
]
