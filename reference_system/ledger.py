"""A worker's durable memory, kept in the idempotency table: what each subtask
has spent of its token budget across every attempt, and the result of a
subtask already done, so a redelivered message is answered without redoing
the work (or paying for it twice)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


class BudgetBusy(Exception):
    """Another attempt at the same subtask holds the rest of its budget right now."""


class Ledger:
    """``hold_seconds``: a hold older than this was left by an attempt that
    died (a crash, or a throttled settle) and is taken back."""

    def __init__(
        self, ddb: Any, table: str, *, hold_seconds: float = 120.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._ddb = ddb
        self._table = table
        self.hold_seconds = hold_seconds
        self._clock = clock

    def _get(self, pk: str) -> dict[str, Any]:
        r = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        return r.get("Item", {})

    # -- budgets ------------------------------------------------------------------

    # ``committed`` is spent + held: DynamoDB conditions cannot add attributes,
    # so the sum the condition needs is kept as an attribute of its own.

    def spent(self, subtask_id: str) -> tuple[int, int]:
        """(tokens spent, tokens held by attempts in flight) for the subtask.
        A hold abandoned by a dead attempt is taken back first."""
        it = self._get(f"budget:{subtask_id}")
        committed = int(it.get("committed", {}).get("N", "0"))
        held = int(it.get("held", {}).get("N", "0"))
        held_at = it.get("held_at", {}).get("N")
        if held and held_at is not None and self._clock() - float(held_at) > self.hold_seconds:
            try:
                self._ddb.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"budget:{subtask_id}"}},
                    UpdateExpression="SET committed = committed - :h, held = held - :h",
                    ConditionExpression="held_at = :at AND held = :h",
                    ExpressionAttributeValues={":h": {"N": str(held)}, ":at": {"N": held_at}},
                )
            except self._ddb.exceptions.ConditionalCheckFailedException:
                return self.spent(subtask_id)  # it changed meanwhile: look again
            committed, held = committed - held, 0
        return committed - held, held

    def hold(self, subtask_id: str, tokens: int, budget: int) -> bool:
        """Hold ``tokens`` of the budget for one model call; False if they are not there."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget:{subtask_id}"}},
                UpdateExpression=(
                    "SET committed = if_not_exists(committed, :z) + :n, held = if_not_exists(held, :z) + :n,"
                    " held_at = :now"
                ),
                ConditionExpression="attribute_not_exists(pk) OR committed <= :room",
                ExpressionAttributeValues={
                    ":z": {"N": "0"},
                    ":n": {"N": str(tokens)},
                    ":room": {"N": str(budget - tokens)},
                    ":now": {"N": repr(self._clock())},
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
