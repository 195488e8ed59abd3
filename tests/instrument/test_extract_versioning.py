"""Optimistic locking is declarable: which attribute is the version and which
placeholder carries the expected one; conditional PutItem and UpdateItem
(``SET #v = :new`` with ``#v = :expected``) are both understood."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

import harness
from harness.backends import Endpoints
from harness.checkers import check_lost_update
from harness.history.recorder import Recorder
from harness.instrument.extract import (
    DEFAULT_VERSIONING,
    Versioning,
    build_extractors,
    clear_versioned,
    declare_versioned,
    versioning_rules,
)
from harness.system import VersionedItems

_ser = TypeSerializer()
TICKETS = (Versioning("*-tickets", "rev", ":expected"),)


def av(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


def request(op: str, params: dict[str, Any], versioned: Any = TICKETS) -> tuple[Any, Any]:
    req, _ = build_extractors(versioned=versioned)[("dynamodb", op)]
    return req(params)


def response(op: str, params: dict[str, Any], parsed: dict[str, Any], versioned: Any = TICKETS) -> Any:
    _, resp = build_extractors(versioned=versioned)[("dynamodb", op)]
    assert resp is not None
    return resp(params, parsed)


@pytest.fixture(autouse=True)
def _no_declarations() -> Iterator[None]:
    clear_versioned()
    yield
    clear_versioned()


def update(
    expr: str, cond: str | None, values: dict[str, Any], table: str = "app-tickets", **kw: Any
) -> dict:
    p = {
        "TableName": table,
        "Key": av({"pk": "T-1"}),
        "UpdateExpression": expr,
        "ExpressionAttributeNames": {"#r": "rev", "#s": "status"},
        "ExpressionAttributeValues": av(values),
        **kw,
    }
    if cond is not None:
        p["ConditionExpression"] = cond
    return p


def test_update_item_with_a_custom_version_attribute() -> None:
    p = update("SET #s = :s, #r = :new", "#r = :expected", {":s": "open", ":new": 4, ":expected": 3})
    key, value = request("UpdateItem", p)
    assert key == "app-tickets/T-1"
    assert value["version"] == 4 and value["expect_version"] == 3


def test_the_expected_version_is_read_from_the_condition_when_not_declared() -> None:
    p = update("SET #r = :n", "attribute_exists(pk) AND #r = :old", {":n": 8, ":old": 7})
    _, value = request("UpdateItem", p, versioned=[Versioning("*-tickets", "rev")])
    assert value["version"] == 8 and value["expect_version"] == 7
    p = update("SET rev = :n", ":old = rev", {":n": 8, ":old": 7})
    _, value = request("UpdateItem", p)
    assert (value["version"], value["expect_version"]) == (8, 7)


def test_increments_with_set_and_add() -> None:
    _, v = request("UpdateItem", update("SET #r = #r + :one", "#r = :expected", {":one": 1, ":expected": 5}))
    assert (v["version"], v["expect_version"]) == (6, 5)
    _, v = request(
        "UpdateItem",
        update("SET #s = :s ADD #r :one", "#r = :expected", {":s": "x", ":one": 1, ":expected": 2}),
    )
    assert (v["version"], v["expect_version"]) == (3, 2)
    _, v = request(
        "UpdateItem",
        update(
            "SET #r = if_not_exists(#r, :zero) + :one", "attribute_not_exists(pk)", {":zero": 0, ":one": 1}
        ),
    )
    assert (v["version"], v["expect_version"]) == (1, 0)


def test_an_unconditional_update_records_its_version_and_no_expectation() -> None:
    _, v = request("UpdateItem", update("SET #r = :new", None, {":new": 2}))
    assert v["version"] == 2 and "expect_version" not in v


def test_comparisons_other_than_equality_are_not_an_expected_version() -> None:
    _, v = request(
        "UpdateItem",
        update("SET #r = :n", "#r <= :old", {":n": 2, ":old": 1}),
        versioned=[Versioning("*", "rev")],
    )
    assert v["version"] == 2 and "expect_version" not in v


def test_conditional_put_item_with_a_custom_attribute() -> None:
    p = {
        "TableName": "app-tickets",
        "Item": av({"pk": "T-1", "rev": 1}),
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    key, v = request("PutItem", p)
    assert key == "app-tickets/T-1" and (v["version"], v["expect_version"]) == (1, 0)
    p = {**p, "Item": av({"pk": "T-1", "rev": 5}), "ConditionExpression": "rev = :expected"}
    p["ExpressionAttributeValues"] = av({":expected": 4})
    assert request("PutItem", p)[1]["expect_version"] == 4


def test_undeclared_tables_and_attributes_are_not_versions() -> None:
    p = update(
        "SET #r = :new, version = :version", "#r = :expected", {":new": 4, ":expected": 3, ":version": 9}
    )
    _, v = request("UpdateItem", p, versioned=[Versioning("*-orders", "rev")])
    assert "version" not in v and "expect_version" not in v
    _, v = request("UpdateItem", p, versioned=())  # declared: nothing is versioned
    assert "version" not in v


def test_the_default_rule_when_nothing_is_declared() -> None:
    assert versioning_rules() == (DEFAULT_VERSIONING,)
    p = {
        "TableName": "sim-tasks",
        "Key": av({"pk": "t"}),
        "UpdateExpression": "SET #a0 = :a0, version = :version",
        "ConditionExpression": "version = :expected_version",
        "ExpressionAttributeNames": {"#a0": "state"},
        "ExpressionAttributeValues": av({":a0": "running", ":version": 3, ":expected_version": 2}),
    }
    _, v = request("UpdateItem", p, versioned=None)
    assert (v["version"], v["expect_version"]) == (3, 2)


def test_declare_versioned_applies_to_later_sessions() -> None:
    declare_versioned("*-tickets", "rev", ":expected")
    assert versioning_rules() == TICKETS
    p = update("SET #r = :new", "#r = :expected", {":new": 4, ":expected": 3})
    assert request("UpdateItem", p, versioned=None)[1]["version"] == 4
    # the system seam's declarations are accepted as they are
    rules = versioning_rules([VersionedItems("*-tickets", "rev", ":expected")])
    assert rules == TICKETS


def test_responses_give_the_version_only_for_the_item_as_written() -> None:
    p = update("SET #r = :new", "#r = :expected", {":new": 4, ":expected": 3}, ReturnValues="ALL_NEW")
    assert response("UpdateItem", p, {"Attributes": av({"pk": "T-1", "rev": 4})}) == {"version": 4}
    p["ReturnValues"] = "ALL_OLD"
    assert response("UpdateItem", p, {"Attributes": av({"pk": "T-1", "rev": 3})}) is None
    got = response(
        "GetItem",
        {"TableName": "app-tickets", "Key": av({"pk": "T-1"})},
        {"Item": av({"pk": "T-1", "rev": 4})},
    )
    assert got["version"] == 4


# -- through an instrumented session on the embedded backend ----------------------------
def _tickets_table(endpoints: Endpoints, recorder: Recorder) -> Any:
    ddb = harness.session(endpoints, "setup", recorder).client("dynamodb")
    ddb.create_table(
        TableName="app-tickets",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName="app-tickets",
        Item=av({"pk": "T-1", "rev": 1, "status": "new"}),
        ConditionExpression="attribute_not_exists(pk)",
    )
    return ddb


def _set_status(ddb: Any, status: str, seen: int, *, locked: bool) -> None:
    kw: dict[str, Any] = {"ConditionExpression": "#r = :expected"} if locked else {}
    values = {":s": status, ":new": seen + 1, **({":expected": seen} if locked else {})}
    ddb.update_item(
        TableName="app-tickets",
        Key=av({"pk": "T-1"}),
        UpdateExpression="SET #s = :s, #r = :new",
        ExpressionAttributeNames={"#s": "status", "#r": "rev"},
        ExpressionAttributeValues=av(values),
        **kw,
    )


def test_a_lost_update_on_an_update_item_locked_table_is_caught(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    declare_versioned("*-tickets", "rev", ":expected")
    _tickets_table(endpoints, recorder)
    a = harness.session(endpoints, "triager", recorder).client("dynamodb")
    b = harness.session(endpoints, "fixer", recorder).client("dynamodb")
    _set_status(a, "triaged", 1, locked=True)  # both read rev 1
    _set_status(b, "resolved", 1, locked=False)  # overwrites the triage without noticing
    v = check_lost_update(recorder.ops, tables=["*-tickets"])
    assert v.valid is False and "version_repeat" in {a.kind for a in v.violations}


def test_optimistic_locking_with_update_item_passes(endpoints: Endpoints, recorder: Recorder) -> None:
    declare_versioned("*-tickets", "rev", ":expected")
    _tickets_table(endpoints, recorder)
    a = harness.session(endpoints, "triager", recorder).client("dynamodb")
    b = harness.session(endpoints, "fixer", recorder).client("dynamodb")
    _set_status(a, "triaged", 1, locked=True)
    with pytest.raises(b.exceptions.ConditionalCheckFailedException):
        _set_status(b, "resolved", 1, locked=True)  # refused: it saw rev 1
    _set_status(b, "resolved", 2, locked=True)  # re-read, retried
    v = check_lost_update(recorder.ops, tables=["*-tickets"])
    assert v.valid is True and not v.anomalies and v.stats["acknowledged_writes"] == 3
