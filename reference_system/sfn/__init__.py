"""The Step Functions orchestration of the reference system: an ASL state
machine (Map over research subtasks, ``sqs:sendMessage.waitForTaskToken`` to
the capability queues, Retry, Catch, timeouts), the worker loop that answers
its task tokens, and the orchestrator that starts executions and records
their outcome. Runs on moto (with execution enabled) and on LocalStack."""

from reference_system.sfn.definition import Timeouts, definition
from reference_system.sfn.deploy import deploy_state_machine, state_machine_name
from reference_system.sfn.orchestrator import SfnOrchestrator, execution_name
from reference_system.sfn.worker_loop import SfnWorkerLoop, parse_task

__all__ = [
    "SfnOrchestrator",
    "SfnWorkerLoop",
    "Timeouts",
    "definition",
    "deploy_state_machine",
    "execution_name",
    "parse_task",
    "state_machine_name",
]
