"""Lambda functions as agents: a handler ``handler(event, context)`` run the
way an SQS event source mapping or an EventBridge rule runs it, without
Lambda (moto cannot run function code without Docker). See docs/lambda.md."""

from harness.lambdas.context import LambdaContext, LambdaTimeout, TimeoutGuard
from harness.lambdas.eventbridge import EventTrigger
from harness.lambdas.events import (
    InvalidBatchResponse,
    batch_item_failures,
    eventbridge_event,
    is_eventbridge_event,
    sqs_event,
    sqs_record,
)
from harness.lambdas.invoke import Function, Handler, LambdaFaults, Outcome
from harness.lambdas.sqs import SqsTrigger

__all__ = [
    "EventTrigger",
    "Function",
    "Handler",
    "InvalidBatchResponse",
    "LambdaContext",
    "LambdaFaults",
    "LambdaTimeout",
    "Outcome",
    "SqsTrigger",
    "TimeoutGuard",
    "batch_item_failures",
    "eventbridge_event",
    "is_eventbridge_event",
    "sqs_event",
    "sqs_record",
]
