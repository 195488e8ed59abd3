"""Stale eventually consistent reads: an earlier version the item really had,
never an invented one; never for ConsistentRead=True."""

from __future__ import annotations

from typing import Any

import pytest

from harness.faults import Fault, Target, Trigger

from .conftest import Rig

STALE = Fault(kind="stale_read", target=Target(service="dynamodb", operation="GetItem"))


def _item(pk: str, version: int, **extra: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "version": {"N": str(version)}} | {k: {"S": v} for k, v in extra.items()}


def _get(ddb: Any, pk: str, **kw: Any) -> dict[str, Any] | None:
    return ddb.get_item(TableName="items", Key={"pk": {"S": pk}}, **kw).get("Item")


def test_stale_read_returns_the_previous_version_written(rig: Rig) -> None:
    rig.table()
    rig.arm(STALE)
    ddb = rig.client("dynamodb", "reader")
    written = [_item("a", v, body=f"v{v}") for v in (1, 2, 3)]
    for it in written:
        ddb.put_item(TableName="items", Item=it)
    got = _get(ddb, "a")
    assert got == written[1]
    (n,) = rig.nemesis("stale_read")
    assert n.key == "reader:dynamodb.GetItem"
    assert n.value == {"fault": "stale_read#0", "served": 2, "current": 3}
    # The history records what the caller saw.
    assert rig.completions("dynamodb.GetItem")[-1].type == "ok"


def test_stale_read_never_invents_a_version(rig: Rig) -> None:
    """Over many reads and writes, every item served is one that was written."""
    rig.table()
    rig.arm(
        Fault(kind="stale_read", target=Target(operation="GetItem"), trigger=Trigger(probability=0.7)), seed=5
    )
    ddb = rig.client("dynamodb")
    written: list[dict[str, Any]] = []
    for v in range(1, 13):
        it = _item("a", v, body=f"body-{v}")
        ddb.put_item(TableName="items", Item=it)
        written.append(it)
        for _ in range(3):
            got = _get(ddb, "a")
            assert got in written
            assert int(got["version"]["N"]) <= v
    stale = rig.nemesis("stale_read")
    assert stale, "the fault fired"
    assert all(n.value["served"] < n.value["current"] for n in stale)


def test_stale_read_serves_a_version_seen_by_an_earlier_read(rig: Rig) -> None:
    """Writes made elsewhere (here: uninstrumented) are known only once read."""
    rig.table()
    plain = rig.plain("dynamodb")
    rig.arm(Fault(kind="stale_read", target=Target(operation="GetItem"), trigger=Trigger(nth=2)))
    ddb = rig.client("dynamodb")
    plain.put_item(TableName="items", Item=_item("a", 1, body="one"))
    assert _get(ddb, "a") == _item("a", 1, body="one")
    plain.put_item(TableName="items", Item=_item("a", 2, body="two"))
    assert _get(ddb, "a") == _item("a", 1, body="one")
    assert _get(ddb, "a") == _item("a", 2, body="two")


def test_stale_read_without_any_earlier_version_returns_the_current_one(rig: Rig) -> None:
    rig.table()
    plain = rig.plain("dynamodb")
    for v in (1, 2):
        plain.put_item(TableName="items", Item=_item("a", v))
    rig.arm(STALE)
    assert _get(rig.client("dynamodb"), "a") == _item("a", 2)
    assert rig.nemesis() == []


def test_consistent_read_is_never_stale(rig: Rig) -> None:
    rig.table()
    rig.arm(STALE)
    ddb = rig.client("dynamodb")
    for v in (1, 2, 3):
        ddb.put_item(TableName="items", Item=_item("a", v))
    for _ in range(5):
        assert _get(ddb, "a", ConsistentRead=True) == _item("a", 3)
    assert rig.nemesis() == []
    assert _get(ddb, "a", ConsistentRead=False) == _item("a", 2)


def test_stale_read_never_serves_another_items_version(rig: Rig) -> None:
    """Versions are per item, whatever the table's key is called."""
    plain = rig.plain("dynamodb")
    plain.create_table(
        TableName="by_name",
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rig.arm(STALE)
    ddb = rig.client("dynamodb")
    # Items whose first attribute happens to equal another item's key.
    ddb.put_item(TableName="by_name", Item={"color": {"S": "red"}, "name": {"S": "x"}, "version": {"N": "1"}})
    ddb.put_item(TableName="by_name", Item={"color": {"S": "red"}, "name": {"S": "y"}, "version": {"N": "2"}})
    ddb.put_item(
        TableName="by_name", Item={"color": {"S": "blue"}, "name": {"S": "red"}, "version": {"N": "7"}}
    )
    got = ddb.get_item(TableName="by_name", Key={"name": {"S": "red"}})["Item"]
    assert got["name"] == {"S": "red"} and got["version"] == {"N": "7"}


def test_stale_read_keeps_a_projection(rig: Rig) -> None:
    """A projected read is served the same projection of the old version, and
    a partial item is never remembered as a version."""
    rig.table()
    rig.arm(STALE)
    ddb = rig.client("dynamodb")
    ddb.put_item(TableName="items", Item=_item("a", 1, body="one"))
    proj = {"ProjectionExpression": "pk, #v", "ExpressionAttributeNames": {"#v": "version"}}
    assert _get(ddb, "a", **proj) == _item("a", 1)
    ddb.put_item(TableName="items", Item=_item("a", 2, body="two"))
    assert _get(ddb, "a", **proj) == _item("a", 1)
    assert _get(ddb, "a", AttributesToGet=["version", "body"]) == {
        "version": {"N": "1"},
        "body": {"S": "one"},
    }
    # Whole-item reads are served whole items, never a remembered projection.
    assert _get(ddb, "a") == _item("a", 1, body="one")
    assert len(rig.nemesis("stale_read")) == 3


def test_stale_read_ignores_items_without_a_version(rig: Rig) -> None:
    rig.table()
    rig.arm(STALE)
    ddb = rig.client("dynamodb")
    for body in ("one", "two"):
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "body": {"S": body}})
    assert _get(ddb, "a") == {"pk": {"S": "a"}, "body": {"S": "two"}}
    assert rig.nemesis() == []


def test_stale_read_only_remembers_successful_writes(rig: Rig) -> None:
    rig.table()
    rig.arm(STALE)
    ddb = rig.client("dynamodb")
    ddb.put_item(TableName="items", Item=_item("a", 5))
    # A conditional write that fails never made version 4 exist.
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="items", Item=_item("a", 4), ConditionExpression="attribute_not_exists(pk)")
    assert _get(ddb, "a") == _item("a", 5)
    assert rig.nemesis() == []
