"""How the harness's instrumented Session records operations: the one place where
the ``f`` names, value fields and state machine that the checkers read are defined.

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

# -- task state machine ------------------------------------------------------
STATE_TRANSITION: Final = "state.transition"  # key = task id, value = {"from":..., "to":...}
FROM: Final = "from"
TO: Final = "to"

PENDING: Final = "pending"
DISPATCHED: Final = "dispatched"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
DEAD_LETTERED: Final = "dead_lettered"

TASK_STATES: Final = frozenset({PENDING, DISPATCHED, RUNNING, DONE, FAILED, DEAD_LETTERED})
INITIAL_STATE: Final = PENDING
TERMINAL_STATES: Final = frozenset({DONE, FAILED, DEAD_LETTERED})
ALLOWED_TRANSITIONS: Final = frozenset(
    {
        (PENDING, DISPATCHED),
        (DISPATCHED, RUNNING),
        (RUNNING, DONE),
        (RUNNING, FAILED),
        (DISPATCHED, FAILED),
        (DISPATCHED, DEAD_LETTERED),
        (RUNNING, DEAD_LETTERED),
        (PENDING, FAILED),
    }
)

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
