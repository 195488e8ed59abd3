"""Versioned items in DynamoDB: every write is conditional (optimistic locking).

Each item carries a ``version`` attribute. A write names the version it read
(``:expected_version``) and the one it writes (``:version``); a conditional
check failure means someone else wrote first, and the caller re-reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from harness.instrument.effects import Effects
from reference_system.states import TERMINAL, check_transition, precedes

log = logging.getLogger(__name__)

_ser = TypeSerializer()
_deser = TypeDeserializer()


def to_av(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_dec(v)) for k, v in d.items()}


def from_av(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _undec(_deser.deserialize(v)) for k, v in d.items()}


def _dec(v: Any) -> Any:
    from decimal import Decimal

    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, dict):
        return {k: _dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


def _undec(v: Any) -> Any:
    from decimal import Decimal

    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _undec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_undec(x) for x in v]
    return v


class Conflict(Exception):
    """The item changed since it was read."""


class VersionedStore:
    """Items keyed by ``pk`` with a ``version``; all writes conditional."""

    def __init__(
        self,
        ddb: Any,
        table: str,
        effects: Effects | None = None,
        *,
        consistent: bool = True,
        cache: bool = False,
    ) -> None:
        self._ddb = ddb
        self.table = table
        self._effects = effects
        self.consistent = consistent
        #: Last item this store read or wrote, per key. Writes still name the
        #: version they expect, so a stale cache costs a conflict and a
        #: re-read, never a lost update.
        self._cache: dict[str, dict[str, Any]] | None = {} if cache else None

    def get(self, pk: str, *, fresh: bool = False) -> dict[str, Any] | None:
        if self._cache is not None and not fresh and pk in self._cache:
            return self._cache[pk]
        r = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=self.consistent)
        item = from_av(r["Item"]) if "Item" in r else None
        if self._cache is not None and item is not None:
            self._cache[pk] = item
        return item

    def _remember(self, item: dict[str, Any]) -> None:
        if self._cache is not None:
            self._cache[item["pk"]] = item

    def create(self, pk: str, attrs: dict[str, Any]) -> bool:
        """Create the item at version 1; False when it already exists."""
        item = {**attrs, "pk": pk, "version": 1}
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_av(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        self._remember(item)
        return True

    def write(
        self,
        pk: str,
        expected_version: int,
        sets: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> int:
        """Set ``sets`` if the item is still at ``expected_version``; returns the new version."""
        names = {f"#a{i}": k for i, k in enumerate(sets)}
        vals: dict[str, Any] = {f":a{i}": v for i, v in enumerate(sets.values())}
        vals[":expected_version"] = expected_version
        vals[":version"] = expected_version + 1
        vals.update(values or {})
        assignments = [f"#a{i} = :a{i}" for i in range(len(sets))] + ["version = :version"]
        kw: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression="version = :expected_version"
                + (f" AND ({condition})" if condition else ""),
                ExpressionAttributeValues=to_av(vals),
                **kw,
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise Conflict(f"{pk} is no longer at version {expected_version}") from None
        return expected_version + 1

    def update(
        self, pk: str, fn: Callable[[dict[str, Any]], dict[str, Any] | None], retries: int = 50
    ) -> dict[str, Any] | None:
        """Read-modify-write with optimistic locking: ``fn(item)`` returns the
        attributes to set (or None to leave the item alone); retried on conflict."""
        for attempt in range(retries):
            item = self.get(pk, fresh=attempt > 0)
            if item is None:
                raise KeyError(pk)
            sets = fn(item)
            if sets is None:
                return item
            try:
                version = self.write(pk, int(item["version"]), sets)
            except Conflict:
                continue
            new = {**item, **sets, "version": version}
            self._remember(new)
            return new
        raise Conflict(f"{pk}: gave up after {retries} conflicting writes")

    def transition(
        self,
        pk: str,
        to: str,
        extra: dict[str, Any] | None = None,
        allowed_from: frozenset[str] | None = None,
    ) -> str | None:
        """Move the item to state ``to`` along the state machine.

        Returns the state it left if this call made the transition, None if
        the item is already in ``to``, in a terminal state, past ``to`` (a
        repeated, late or stale event: another agent moved it on, decided from
        the stored state) or not in ``allowed_from``.
        Raises InvalidTransition for a move the state machine forbids (one
        that skips a state).
        """
        moved: list[str] = []

        def fn(item: dict[str, Any]) -> dict[str, Any] | None:
            moved.clear()
            cur = item["state"]
            if cur == to or cur in TERMINAL:
                return None
            if allowed_from is not None and cur not in allowed_from:
                return None
            if precedes(to, cur):
                log.info("%s: %s -> %s is stale (moved on by another agent); left as it is", pk, cur, to)
                return None
            check_transition(cur, to)
            moved.append(cur)
            return {"state": to, **(extra or {})}

        self.update(pk, fn)
        if moved and self._effects is not None:
            self._effects.note("state.transition", pk, {"from": moved[0], "to": to})
        return moved[0] if moved else None
