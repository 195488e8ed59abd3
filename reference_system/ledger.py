"""A worker's durable memory, kept in the idempotency table: what each subtask
has spent of its token budget across every attempt, and the result of a
subtask already done, so a redelivered message is answered without redoing
the work (or paying for it twice)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

log = logging.getLogger(__name__)

_HOLD = "hold_"
_TOMB = "gone_"
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class BudgetBusy(Exception):
    """Another attempt at the same subtask holds the rest of its budget right now."""


class Ledger:
    """``hold_seconds``: a hold older than this was left by an attempt that
    died (a crash, say) and is taken back. 0 is for a single owner that makes
    one call at a time: any hold it finds (and does not owe a settle for) is
    a dead incarnation's.

    Each hold is an attribute of its own (``hold_<ms>_<tokens>_<id>``: when
    it was taken, how much, and by whom), so a settle is idempotent (it
    removes its hold, on condition that the hold is still there) and can be
    retried safely. A settle that fails (throttled, cut off, an unknown
    outcome) is owed: this ledger pays it before its next read, and a worker
    loop pays what it owes on every turn, so a hold outlives a failed settle
    only briefly rather than blocking the subtask for ``hold_seconds``. A
    hold taken back leaves a tombstone (``gone_...``), so that a settle
    arriving after all still charges what its call used, once."""

    def __init__(
        self, ddb: Any, table: str, *, hold_seconds: float = 120.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._ddb = ddb
        self._table = table
        self.hold_seconds = hold_seconds
        self._clock = clock
        self.owed: dict[tuple[str, str], int] = {}  # (subtask, hold) -> tokens used, not yet settled

    def _get(self, pk: str) -> dict[str, Any]:
        r = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        return r.get("Item", {})

    # -- budgets ------------------------------------------------------------------

    # ``committed`` is spent + held: DynamoDB conditions cannot add attributes,
    # so the sum the condition needs is kept as an attribute of its own.

    def spent(self, subtask_id: str) -> tuple[int, int]:
        """(tokens spent, tokens held by attempts in flight) for the subtask.
        What this ledger owes is paid first, and a hold abandoned by a dead
        attempt is taken back (never one this ledger still owes a settle for)."""
        self.settle_owed()
        it = self._get(f"budget:{subtask_id}")
        committed = int(it.get("committed", {}).get("N", "0"))
        held = int(it.get("held", {}).get("N", "0"))
        cutoff = (self._clock() - self.hold_seconds) * 1000
        mine = {hold for sub, hold in self.owed if sub == subtask_id}
        for name in it:
            if (
                name.startswith(_HOLD)
                and name not in mine
                and (self.hold_seconds <= 0 or int(name.split("_")[1]) < cutoff)
            ):
                tokens = _hold_tokens(name)
                if self._take_back(subtask_id, name, tokens):
                    committed, held = committed - tokens, held - tokens
        return committed - held, held

    def hold(self, subtask_id: str, tokens: int, budget: int) -> str | None:
        """Hold ``tokens`` of the budget for one model call; the hold's name,
        or None if the tokens are not there."""
        name = f"{_HOLD}{int(self._clock() * 1000)}_{tokens}_{uuid.uuid4().hex[:12]}"
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget:{subtask_id}"}},
                UpdateExpression=(
                    "SET committed = if_not_exists(committed, :z) + :n, held = if_not_exists(held, :z) + :n, #h = :n"
                ),
                ConditionExpression="attribute_not_exists(pk) OR committed <= :room",
                ExpressionAttributeNames={"#h": name},
                ExpressionAttributeValues={
                    ":z": {"N": "0"},
                    ":n": {"N": str(tokens)},
                    ":room": {"N": str(budget - tokens)},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return name

    def settle(self, subtask_id: str, hold: str, used: int) -> bool:
        """Release a hold, charging what the call really used. True when done;
        False when the write failed in a way worth retrying (throttled, cut
        off, an unknown outcome): the settle is then owed (see
        :meth:`settle_owed`). Any other error is raised."""
        try:
            self._settle(subtask_id, hold, used)
        except (ClientError, BotoCoreError) as e:
            if not retryable(e):
                raise
            self.owed[(subtask_id, hold)] = used
            return False
        return True

    def settle_owed(self) -> int:
        """Retry every settle that failed; returns how many are still owed.
        One that fails for good (not worth retrying) is given up, and its
        hold left to be taken back after ``hold_seconds``."""
        for (sub, hold), used in list(self.owed.items()):
            try:
                self._settle(sub, hold, used)
            except (ClientError, BotoCoreError) as e:
                if retryable(e):
                    continue  # still owed; tried again on the next turn
                log.warning("giving up the settle of %s (%s): %s", sub, hold, e)
            del self.owed[(sub, hold)]
        return len(self.owed)

    def _settle(self, subtask_id: str, hold: str, used: int) -> None:
        held = _hold_tokens(hold)
        if self._update(
            subtask_id,
            "SET committed = committed + :d, held = held - :h REMOVE #h",
            {"#h": hold},
            {":d": used - held, ":h": held},
        ):
            return
        # Taken back as abandoned meanwhile: charge what was used, once.
        # (Neither there: an earlier try was applied, its answer lost.)
        self._update(
            subtask_id, "SET committed = committed + :d REMOVE #t", {"#t": _tomb(hold)}, {":d": used}
        )

    def _take_back(self, subtask_id: str, hold: str, held: int) -> bool:
        """Release a hold left by a dead attempt, charging nothing, and leave
        a tombstone so that its settle, should it come after all, still
        charges what the call used."""
        return self._update(
            subtask_id,
            "SET committed = committed - :h, held = held - :h, #t = :h REMOVE #h",
            {"#h": hold, "#t": _tomb(hold)},
            {":h": held},
        )

    def _update(
        self, subtask_id: str, expression: str, names: dict[str, str], values: dict[str, int]
    ) -> bool:
        """One conditional update of the subtask's budget item (on its first
        name existing); False if that was gone."""
        first = next(iter(names))
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget:{subtask_id}"}},
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists({first})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: {"N": str(v)} for k, v in values.items()},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- results --------------------------------------------------------------

    def result(self, subtask_id: str) -> dict[str, Any] | None:
        it = self._get(f"result:{subtask_id}")
        return json.loads(it["body"]["S"]) if it else None

    def save_result(self, subtask_id: str, result: dict[str, Any]) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"result:{subtask_id}"}, "body": {"S": json.dumps(result, sort_keys=True)}},
        )


def _hold_tokens(hold: str) -> int:
    return int(hold.split("_")[2])


def _tomb(hold: str) -> str:
    return _TOMB + hold[len(_HOLD) :]


def retryable(e: Exception) -> bool:
    """An AWS error worth trying again: throttling, a server error, or no
    answer at all (a connection cut, a timeout)."""
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = str(err.get("Code", ""))
        return status >= 500 or "Throttl" in code or code in _RETRYABLE_CODES
    return isinstance(e, (HTTPClientError, BotoConnectionError, ResponseParserError))
