"""Span names and attributes: OpenTelemetry's semantic conventions for
messaging, databases, RPC and generative AI, plus the harness's own."""

from __future__ import annotations

from typing import Any, Final

# -- the harness's own --------------------------------------------------------
AGENT: Final = "harness.agent"
PROCESS: Final = "harness.process"
CORRELATION_ID: Final = "harness.correlation_id"
OUTCOME: Final = "harness.outcome"  # ok | fail | info, as in the history
STEP_DID_WORK: Final = "harness.step.did_work"
MODEL_KIND: Final = "harness.model.kind"
#: On a receive span (and an agent's step span for a task), the correlation ids
#: that the messages it received carried. On a span made with no correlation id
#: inside an agent step that had received messages carrying correlation ids
#: (and none without), those ids: the tasks it was made while handling, which
#: it should have carried too (see ``SpanQuery.assert_connected``).
RECEIVED_CORRELATION_IDS: Final = "harness.received_correlation_ids"
TASK_SPAN: Final = "task"
STEP_SPAN: Final = "step"

# -- RPC (every AWS call) -------------------------------------------------------
RPC_SYSTEM: Final = "rpc.system"
RPC_SERVICE: Final = "rpc.service"
RPC_METHOD: Final = "rpc.method"
CLOUD_REGION: Final = "cloud.region"
AWS_REQUEST_ID: Final = "aws.request_id"
ERROR_TYPE: Final = "error.type"

# -- messaging ------------------------------------------------------------------
MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
MESSAGING_OPERATION_NAME: Final = "messaging.operation.name"
MESSAGING_DESTINATION: Final = "messaging.destination.name"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"
MESSAGING_CONVERSATION_ID: Final = "messaging.message.conversation_id"
MESSAGING_BATCH_COUNT: Final = "messaging.batch.message_count"
AWS_SQS_QUEUE_URL: Final = "aws.sqs.queue.url"
AWS_SNS_TOPIC_ARN: Final = "aws.sns.topic.arn"

# -- databases --------------------------------------------------------------------
DB_SYSTEM_NAME: Final = "db.system.name"
DB_SYSTEM: Final = "db.system"  # the older name, still read by many back ends
DB_OPERATION_NAME: Final = "db.operation.name"
DB_COLLECTION_NAME: Final = "db.collection.name"
AWS_DYNAMODB_TABLE_NAMES: Final = "aws.dynamodb.table_names"
AWS_DYNAMODB_CONSISTENT_READ: Final = "aws.dynamodb.consistent_read"

# -- generative AI ------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"

SERVICE_IDS: Final = {
    "sqs": "SQS",
    "sns": "SNS",
    "dynamodb": "DynamoDB",
    "events": "EventBridge",
    "stepfunctions": "SFN",
}

#: SQS operation -> (messaging.operation.type, messaging.operation.name)
SQS_OPERATIONS: Final = {
    "SendMessage": ("send", "send"),
    "SendMessageBatch": ("send", "send"),
    "ReceiveMessage": ("receive", "receive"),
    "DeleteMessage": ("settle", "delete"),
    "DeleteMessageBatch": ("settle", "delete"),
    "ChangeMessageVisibility": ("settle", "change_visibility"),
}


def _last(s: str | None, sep: str) -> str | None:
    return s.rsplit(sep, 1)[-1] if s else None


def call_name_and_attributes(
    service: str, operation: str, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A span name and the request-side attributes of one AWS call."""
    attrs: dict[str, Any] = {
        RPC_SYSTEM: "aws-api",
        RPC_SERVICE: SERVICE_IDS.get(service, service),
        RPC_METHOD: operation,
    }
    name = f"{SERVICE_IDS.get(service, service)}.{operation}"
    if service == "sqs":
        url = params.get("QueueUrl")
        queue = _last(url, "/")
        attrs[MESSAGING_SYSTEM] = "aws_sqs"
        if url:
            attrs[AWS_SQS_QUEUE_URL] = url
            attrs[MESSAGING_DESTINATION] = queue
        op = SQS_OPERATIONS.get(operation)
        if op is not None:
            attrs[MESSAGING_OPERATION_TYPE], attrs[MESSAGING_OPERATION_NAME] = op
            name = f"{op[1]} {queue}" if queue else op[1]
        if operation == "SendMessageBatch":
            attrs[MESSAGING_BATCH_COUNT] = len(params.get("Entries", []))
    elif service == "sns":
        arn = params.get("TopicArn") or params.get("TargetArn")
        attrs[MESSAGING_SYSTEM] = "aws.sns"
        if arn:
            attrs[AWS_SNS_TOPIC_ARN] = arn
            attrs[MESSAGING_DESTINATION] = _last(arn, ":")
        if operation in ("Publish", "PublishBatch"):
            attrs[MESSAGING_OPERATION_TYPE] = "send"
            attrs[MESSAGING_OPERATION_NAME] = "publish"
            name = f"publish {_last(arn, ':')}" if arn else "publish"
    elif service == "dynamodb":
        table = params.get("TableName")
        attrs[DB_SYSTEM_NAME] = "aws.dynamodb"
        attrs[DB_SYSTEM] = "dynamodb"
        attrs[DB_OPERATION_NAME] = operation
        if table:
            attrs[DB_COLLECTION_NAME] = table
            attrs[AWS_DYNAMODB_TABLE_NAMES] = [table]
            name = f"{operation} {table}"
        else:
            tables = sorted(
                {
                    body.get("TableName")
                    for entry in params.get("TransactItems", [])
                    for body in entry.values()
                    if isinstance(body, dict) and body.get("TableName")
                }
            )
            if tables:
                attrs[AWS_DYNAMODB_TABLE_NAMES] = tables
            name = operation
        if "ConsistentRead" in params:
            attrs[AWS_DYNAMODB_CONSISTENT_READ] = bool(params["ConsistentRead"])
    return name, attrs


def response_attributes(service: str, operation: str, parsed: dict[str, Any] | None) -> dict[str, Any]:
    """Attributes only the response tells."""
    if not parsed:
        return {}
    attrs: dict[str, Any] = {}
    rid = (parsed.get("ResponseMetadata") or {}).get("RequestId")
    if rid:
        attrs[AWS_REQUEST_ID] = rid
    if service in ("sqs", "sns") and isinstance(parsed.get("MessageId"), str):
        attrs[MESSAGING_MESSAGE_ID] = parsed["MessageId"]
    return attrs


__all__ = ["call_name_and_attributes", "response_attributes"]
