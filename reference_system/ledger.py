"""A worker's durable memory, kept in the idempotency table: what each subtask
has spent of its token budget across every attempt, and the result of a
subtask already done, so a redelivered message is answered without redoing
the work (or paying for it twice)."""

from __future__ import annotations

import json
from typing import Any


class BudgetBusy(Exception):
    """Another attempt at the same subtask holds the rest of its budget right now."""


class Ledger:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def _get(self, pk: str) -> dict[str, Any]:
        r = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        return r.get("Item", {})

    # -- budgets ------------------------------------------------------------------

    # ``committed`` is spent + held: DynamoDB conditions cannot add attributes,
    # so the sum the condition needs is kept as an attribute of its own.

    def spent(self, subtask_id: str) -> tuple[int, int]:
        """(tokens spent, tokens held by attempts in flight) for the subtask."""
        it = self._get(f"budget:{subtask_id}")
        committed = int(it.get("committed", {}).get("N", "0"))
        held = int(it.get("held", {}).get("N", "0"))
        return committed - held, held

    def hold(self, subtask_id: str, tokens: int, budget: int) -> bool:
        """Hold ``tokens`` of the budget for one model call; False if they are not there."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget:{subtask_id}"}},
                UpdateExpression="SET committed = if_not_exists(committed, :z) + :n, held = if_not_exists(held, :z) + :n",
                ConditionExpression="attribute_not_exists(pk) OR committed <= :room",
                ExpressionAttributeValues={
                    ":z": {"N": "0"},
                    ":n": {"N": str(tokens)},
                    ":room": {"N": str(budget - tokens)},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def settle(self, subtask_id: str, held: int, used: int) -> None:
        """Release a hold, charging what the call really used."""
        self._ddb.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"budget:{subtask_id}"}},
            UpdateExpression="SET committed = committed + :d, held = held - :h",
            ExpressionAttributeValues={":d": {"N": str(used - held)}, ":h": {"N": str(held)}},
        )

    # -- results --------------------------------------------------------------

    def result(self, subtask_id: str) -> dict[str, Any] | None:
        it = self._get(f"result:{subtask_id}")
        return json.loads(it["body"]["S"]) if it else None

    def save_result(self, subtask_id: str, result: dict[str, Any]) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"result:{subtask_id}"}, "body": {"S": json.dumps(result, sort_keys=True)}},
        )
