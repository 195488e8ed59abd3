"""The Step Functions orchestration of a brief, in Amazon States Language.

research (a Map over the research subtasks) -> write -> review, each subtask
sent to its capability's queue with ``sqs:sendMessage.waitForTaskToken``; a
worker answers with SendTaskSuccess or SendTaskFailure. A task that times out
(no answer within ``TimeoutSeconds``, or no heartbeat within
``HeartbeatSeconds``: the worker crashed) or fails transiently is retried with
a new token; a permanent failure, or retries exhausted, is caught and ends the
execution with a ``failed`` outcome carrying the error and its cause.

Execution input::

    {"task_id", "topic", "correlation_id",
     "research": [{"queue", "subtask", "correlation_id"}, ...],
     "write": {"queue", "subtask", "correlation_id"},
     "review": {"queue", "subtask", "correlation_id"}}

where each ``subtask`` is a :class:`~reference_system.messages.SubtaskMessage`
as JSON. A worker finds in the message body ``task_token``, ``subtask`` and
``inputs`` (values computed by the state machine, merged into the subtask's
inputs). Output: ``{"status": "done", "task_id", "review", "draft"}`` or
``{"status": "failed", "task_id", "error", "cause"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.instrument.context import CORRELATION_ATTR

SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"

#: Errors a worker reports with SendTaskFailure.
TRANSIENT = "Worker.Transient"
PERMANENT = "Worker.PermanentFailure"
BUDGET = "Worker.BudgetExceeded"

#: Errors after which a subtask is sent again (with a new task token).
RETRIED: tuple[str, ...] = ("States.Timeout", "States.HeartbeatTimeout", TRANSIENT)


@dataclass(frozen=True)
class Timeouts:
    """How long a subtask may take, and how it is retried.

    ``heartbeat``: a worker heartbeats when it takes a subtask; silence this
    long means nobody has it (lost message, crashed worker). ``task``: the
    whole subtask, answer included. ``attempts``: retries after the first try.
    """

    task: int = 120
    heartbeat: int = 60
    attempts: int = 2
    interval: int = 1
    backoff: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat < self.task:
            raise ValueError("heartbeat must be positive and shorter than the task timeout")


def _subtask_state(path: str, inputs: dict[str, str], t: Timeouts, **rest: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"task_token.$": "$$.Task.Token", "subtask.$": f"{path}.subtask"}
    if inputs:
        body["inputs"] = inputs
    return {
        "Type": "Task",
        "Resource": SEND_AND_WAIT,
        "Parameters": {
            "QueueUrl.$": f"{path}.queue",
            "MessageBody": body,
            "MessageAttributes": {
                CORRELATION_ATTR: {"DataType": "String", "StringValue.$": f"{path}.correlation_id"}
            },
        },
        "TimeoutSeconds": t.task,
        "HeartbeatSeconds": t.heartbeat,
        "Retry": [
            {
                "ErrorEquals": list(RETRIED),
                "IntervalSeconds": t.interval,
                "MaxAttempts": t.attempts,
                "BackoffRate": t.backoff,
            }
        ],
        **rest,
    }


def _catch(result_path: str = "$.failure") -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": "Failed"}]


def definition(timeouts: Timeouts | None = None) -> dict[str, Any]:
    """The state machine, as a JSON-ready dict."""
    t = timeouts or Timeouts()
    return {
        "Comment": "A brief: research (Map) -> write -> review, each subtask answered through a task token",
        "StartAt": "Research",
        "States": {
            "Research": {
                "Type": "Map",
                "ItemsPath": "$.research",
                "MaxConcurrency": 0,
                "Iterator": {
                    "StartAt": "ResearchSubtask",
                    "States": {"ResearchSubtask": _subtask_state("$", {}, t, End=True)},
                },
                "ResultPath": "$.research_results",
                "Catch": _catch(),
                "Next": "Write",
            },
            "Write": _subtask_state(
                "$.write",
                {"facts.$": "$.research_results[*].output.facts[*]"},
                t,
                ResultPath="$.write_result",
                Catch=_catch(),
                Next="Review",
            ),
            "Review": _subtask_state(
                "$.review",
                {"draft.$": "$.write_result.output"},
                t,
                ResultPath="$.review_result",
                Catch=_catch(),
                Next="Done",
            ),
            "Done": {
                "Type": "Pass",
                "Parameters": {
                    "status": "done",
                    "task_id.$": "$.task_id",
                    "review.$": "$.review_result.output",
                    "draft.$": "$.write_result.output",
                },
                "End": True,
            },
            "Failed": {
                "Type": "Pass",
                "Parameters": {
                    "status": "failed",
                    "task_id.$": "$.task_id",
                    "error.$": "$.failure.Error",
                    "cause.$": "$.failure.Cause",
                },
                "End": True,
            },
        },
    }
