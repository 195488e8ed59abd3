"""How the harness's instrumented Session records operations: the one place where
the ``f`` names and value fields that the checkers read are defined.

Each checker takes these as defaults and lets callers override them, so a history
recorded by another tool can be checked after mapping its names.
"""

from __future__ import annotations

from typing import Final

# -- SQS ---------------------------------------------------------------------
SQS_SEND: Final = "sqs.SendMessage"
SQS_SEND_BATCH: Final = "sqs.SendMessageBatch"
SQS_RECEIVE: Final = "sqs.ReceiveMessage"
SQS_DELETE: Final = "sqs.DeleteMessage"
SQS_DELETE_BATCH: Final = "sqs.DeleteMessageBatch"

#: value fields of SQS operations (key = queue name)
MESSAGE_ID: Final = "message_id"  # the logical id carried in the message attribute "message_id"
SQS_ID: Final = "sqs_id"  # the MessageId that SQS assigned
GROUP: Final = "group"  # MessageGroupId (FIFO queues)
DEDUP: Final = "dedup"  # MessageDeduplicationId (FIFO queues)
MESSAGES: Final = "messages"  # ReceiveMessage ok value: list of received messages
RECEIVE_COUNT: Final = "receive_count"
ENTRIES: Final = "entries"  # batch operations: list of per-message values

#: ``message.apply`` (type ok, key = the queue's name, as SQS operations are
#: keyed): recorded by a consumer right after it applied a message's effect,
#: ``effects.note("message.apply", queue_name, {"message_id": <logical id or
#: None>, "sqs_id": <SQS MessageId>, "group": <MessageGroupId>})``; the
#: ordering checker judges the processing order of FIFO groups by it.
MESSAGE_APPLY: Final = "message.apply"

# -- DynamoDB ----------------------------------------------------------------
DDB_PUT: Final = "dynamodb.PutItem"
DDB_UPDATE: Final = "dynamodb.UpdateItem"
DDB_DELETE: Final = "dynamodb.DeleteItem"
DDB_GET: Final = "dynamodb.GetItem"
DDB_WRITES: Final = frozenset({DDB_PUT, DDB_UPDATE, DDB_DELETE})
DDB_READS: Final = frozenset({DDB_GET})

#: value fields of DynamoDB operations (key = "<table>/<pk value>")
ITEM: Final = "item"
UPDATE: Final = "update"
CONDITION: Final = "condition"
EXPECT_VERSION: Final = "expect_version"
VERSION: Final = "version"
CONSISTENT: Final = "consistent"

# -- SNS ---------------------------------------------------------------------
SNS_PUBLISH: Final = "sns.Publish"

# -- declared side effects ---------------------------------------------------
#: f = "effect.<kind>", key = the logical operation id (idempotency key)
EFFECT_PREFIX: Final = "effect."
#: meta of an effect: the logical operation (task or subtask) it belongs to,
#: and the attempt (delivery) that performed it (``harness.instrument.operation``)
OPERATION: Final = "operation"
ATTEMPT: Final = "attempt"

# -- task state machine ------------------------------------------------------
STATE_TRANSITION: Final = "state.transition"  # key = task id, value = {"from":..., "to":...}
FROM: Final = "from"
TO: Final = "to"

#: ``task.submit`` (type ok, key = task id): a client submitted a task; the
#: liveness checker requires each to reach a terminal state.
TASK_SUBMIT: Final = "task.submit"
#: ``task.state`` (type info, key = task id, value ``{"state": s}``): a task's
#: final state read from the system at the end of a run.
TASK_STATE: Final = "task.state"
STATE: Final = "state"

#: The bundled reference system's task state machine, in
#: :class:`harness.system.StateMachine` JSON form. For tests and fixtures only:
#: no checker defaults to it (a checker without a declared state machine skips
#: what needs one and says so in its statistics).
REFERENCE_STATE_MACHINE: Final = {
    "transitions": {
        "pending": ["dispatched", "failed"],
        "dispatched": ["running", "failed", "dead_lettered"],
        "running": ["done", "failed", "dead_lettered"],
    },
    "initial": "pending",
    "terminal": ["dead_lettered", "done", "failed"],
    "success": ["done"],
}

#: The reference system's settings for every checker (as its declarations
#: produce them), for tests and fixtures only.
REFERENCE_CHECKER_SPECS: Final = {
    "state_machine": REFERENCE_STATE_MACHINE,
    "liveness": {"terminal": ["done", "failed"]},
    "stages": {
        "order": ["research", "write", "review"],
        "pattern": r"^(?P<task>.+)/(?P<stage>research|write|review)/(?P<n>\d+)$",
        "done": ["done"],
        "table": "*-tasks",
    },
    "retries": {
        "max_receives": 3,
        "messages": "subtask:*",
        "senders": "supervisor*",
        "exclude_queues": "*-dlq",
    },
}

# -- language-model calls and budgets ----------------------------------------
MODEL_COMPLETE: Final = "model.complete"  # key = subtask id
TASK_ID: Final = "task_id"
BUDGET: Final = "budget"
INPUT_TOKENS: Final = "input_tokens"
OUTPUT_TOKENS: Final = "output_tokens"
MAX_TOKENS: Final = "max_tokens"
BUDGET_ALLOCATE: Final = "budget.allocate"  # key = task id, value = {"budget": int}

# -- which agent an operation belongs to --------------------------------------
AGENT: Final = "agent"  # extra top-level field, kept in Op.meta
