"""The schema diff on changes it must accept and changes it must reject.

Every rejected change comes with a witness: an instance of the writer that the
reader rejects, so each reported break is shown to be real.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness.contracts.compat import breaking_changes
from harness.contracts.schema import Doc

D = "https://json-schema.org/draft/2020-12/schema"


def obj(
    props: dict[str, Any], required: list[str] | None = None, closed: bool = True, **kw: Any
) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "object", "properties": props, "required": required or list(props), **kw}
    if closed:
        s["additionalProperties"] = False
    return s


FACT = obj(
    {"source_id": {"type": "string"}, "value": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
    ["source_id"],
)
BASE = {
    "$schema": D,
    "$defs": {"Fact": FACT},
    **obj(
        {
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "status": {"enum": ["ok", "failed"], "type": "string"},
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "facts": {"type": "array", "items": {"$ref": "#/$defs/Fact"}},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        ["title", "status", "facts"],
    ),
}


def edit(fn: Any, base: dict[str, Any] = BASE) -> dict[str, Any]:
    s = copy.deepcopy(base)
    fn(s)
    return s


def kinds(old: Any, new: Any, direction: str = "backward") -> list[tuple[str, str]]:
    w, r = (old, new) if direction == "backward" else (new, old)
    return [(c.kind, c.path) for c in breaking_changes(Doc(w), Doc(r), direction)]  # type: ignore[arg-type]


def _props(**kv: Any) -> Any:
    return lambda s: s["properties"].update(kv)


def _set(path: str, value: Any) -> Any:
    def f(s: dict[str, Any]) -> None:
        *head, last = path.split("/")
        node = s
        for k in head:
            node = node[k]
        if value is _DEL:
            del node[last]
        else:
            node[last] = value

    return f


_DEL = object()

# ---------------------------------------------------------------------------- accepted

ACCEPT_BACKWARD = {
    "identical": lambda s: None,
    "annotations only": _set("properties/title/description", "the brief's title"),
    "optional field added to a closed object": _props(summary={"type": "string"}),
    "nullable widened": _set("properties/score/type", ["integer", "null"]),
    "nullable widened with anyOf": _set(
        "properties/title", {"anyOf": [{"type": "string"}, {"type": "null"}]}
    ),
    "OpenAPI nullable": _set("properties/score/nullable", True),
    "enum value added": _set("properties/status/enum", ["ok", "failed", "partial"]),
    "bound loosened": _set("properties/title/maxLength", 500),
    "bound removed": _set("properties/score/maximum", _DEL),
    "integer widened to number": _set("properties/score/type", "number"),
    "required field made optional": _set("required", ["title", "facts"]),
    "object opened": _set("additionalProperties", _DEL),
    "inline instead of $ref": _set("properties/facts/items", copy.deepcopy(FACT)),
    "$ref renamed": lambda s: (
        s["$defs"].update(Item=s["$defs"].pop("Fact")),
        _set("properties/facts/items/$ref", "#/$defs/Item")(s),
    ),
    "anyOf reordered": _set("$defs/Fact/properties/value/anyOf", [{"type": "null"}, {"type": "number"}]),
    "allOf split": _set(
        "properties/title", {"allOf": [{"type": "string", "minLength": 1}, {"maxLength": 200}]}
    ),
    "exclusive bound on integers is the same": _set(
        "properties/score", {"type": "integer", "exclusiveMinimum": -1, "maximum": 10}
    ),
    "type list with one type": _set("properties/tags/items/type", ["string"]),
}


@pytest.mark.parametrize("name", list(ACCEPT_BACKWARD))
def test_backward_compatible_changes_are_accepted(name: str) -> None:
    assert kinds(BASE, edit(ACCEPT_BACKWARD[name])) == []


ACCEPT_FORWARD = {
    "identical": lambda s: None,
    "field made required": _set("required", ["title", "status", "facts", "score"]),
    "enum value removed": _set("properties/status/enum", ["ok"]),
    "bound tightened": _set("properties/title/maxLength", 100),
    "nullable narrowed": _set("$defs/Fact/properties/value", {"type": "number"}),
}


@pytest.mark.parametrize("name", list(ACCEPT_FORWARD))
def test_forward_compatible_changes_are_accepted(name: str) -> None:
    assert kinds(BASE, edit(ACCEPT_FORWARD[name]), "forward") == []


def test_open_old_object_closing_is_forward_compatible() -> None:
    old = obj({"a": {"type": "string"}}, closed=False)
    assert kinds(old, obj({"a": {"type": "string"}}), "forward") == []


def test_discriminated_union_gains_a_disjoint_alternative() -> None:
    def variant(tag: str, field: str) -> dict[str, Any]:
        return obj({"kind": {"const": tag}, field: {"type": "string"}})

    old = {"oneOf": [variant("a", "x"), variant("b", "y")]}
    new = {"oneOf": [variant("a", "x"), variant("b", "y"), variant("c", "z")]}
    assert kinds(old, new) == []
    # Forward, old readers know no alternative for kind "c"; the closest one says why.
    assert ("const_changed", "$.kind") in kinds(old, new, "forward")


def test_recursive_schemas_compare_without_looping() -> None:
    tree = {
        "$defs": {
            "N": obj(
                {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/N"}}}, ["v"]
            )
        },
        "$ref": "#/$defs/N",
    }
    wider = edit(_set("$defs/N/properties/v/type", "number"), tree)
    assert kinds(tree, wider) == []
    assert kinds(wider, tree) == [("type_narrowed", "$.v"), ("type_narrowed", "$.kids[*].v")]


def test_draft7_tuple_items_and_definitions() -> None:
    old = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"S": {"type": "string"}},
        "type": "array",
        "items": [{"$ref": "#/definitions/S"}, {"type": "integer"}],
        "additionalItems": False,
    }
    new = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": False}
    assert kinds(old, new) == []
    assert kinds(new, old) == [("type_narrowed", "$[1]")]


# ---------------------------------------------------------------------------- rejected

REJECT = [
    # (name, edit, direction, expected (kind, path), witness: an instance of the writer the reader rejects)
    (
        "new required field",
        lambda s: (s["properties"].update(lang={"type": "string"}), s["required"].append("lang")),
        "backward",
        ("required_field_added", "$.lang"),
        None,
    ),
    (
        "required field renamed",
        lambda s: (
            s["properties"].update(heading=s["properties"].pop("title")),
            s.update(required=["heading", "status", "facts"]),
        ),
        "backward",
        ("field_renamed", "$.title"),
        {"title": "t", "status": "ok", "facts": []},
    ),
    (
        "nested type narrowed through $ref",
        _set("$defs/Fact/properties/value", {"type": "number"}),
        "backward",
        ("type_narrowed", "$.facts[*].value"),
        {"title": "t", "status": "ok", "facts": [{"source_id": "s", "value": None}]},
    ),
    (
        "enum value removed",
        _set("properties/status/enum", ["ok"]),
        "backward",
        ("enum_value_removed", "$.status"),
        {"title": "t", "status": "failed", "facts": []},
    ),
    (
        "bound tightened",
        _set("properties/title/maxLength", 100),
        "backward",
        ("bound_tightened", "$.title"),
        {"title": "x" * 150, "status": "ok", "facts": []},
    ),
    (
        "integer bound tightened",
        _set("properties/score/minimum", 1),
        "backward",
        ("bound_tightened", "$.score"),
        {"title": "t", "status": "ok", "facts": [], "score": 0},
    ),
    (
        "pattern added",
        _set("properties/title/pattern", "^[A-Z]"),
        "backward",
        ("pattern_added", "$.title"),
        {"title": "lower", "status": "ok", "facts": []},
    ),
    (
        "field removed from a closed object",
        lambda s: s["properties"].pop("tags"),
        "backward",
        ("field_removed_from_closed_object", "$.tags"),
        {"title": "t", "status": "ok", "facts": [], "tags": []},
    ),
    (
        "number narrowed to integer",
        _set("$defs/Fact/properties/value", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        "backward",
        ("type_narrowed", "$.facts[*].value"),
        {"title": "t", "status": "ok", "facts": [{"source_id": "s", "value": 1.5}]},
    ),
    (
        "unique items required",
        _set("properties/tags/uniqueItems", True),
        "backward",
        ("unique_items_added", "$.tags"),
        {"title": "t", "status": "ok", "facts": [], "tags": ["a", "a"]},
    ),
    (
        "minItems tightened",
        _set("properties/facts/minItems", 1),
        "backward",
        ("bound_tightened", "$.facts"),
        {"title": "t", "status": "ok", "facts": []},
    ),
    (
        "allOf adds a constraint",
        _set("properties/tags/items", {"allOf": [{"type": "string"}, {"maxLength": 3}]}),
        "backward",
        ("bound_tightened", "$.tags[*]"),
        {"title": "t", "status": "ok", "facts": [], "tags": ["long"]},
    ),
    (
        "const changed",
        _set("properties/status", {"const": "ok"}),
        "backward",
        ("enum_value_removed", "$.status"),
        {"title": "t", "status": "failed", "facts": []},
    ),
    (
        "not is not reasoned about",
        _set("properties/tags/items", {"type": "string", "not": {"const": "x"}}),
        "backward",
        ("unsupported_keyword", "$.tags[*]"),
        {"title": "t", "status": "ok", "facts": [], "tags": ["x"]},
    ),
    (
        "required field removed",
        lambda s: s["properties"].pop("status") and s.update(required=["title", "facts"]),
        "forward",
        ("required_field_removed", "$.status"),
        None,
    ),
    (
        "type widened",
        _set("properties/score/type", ["integer", "string"]),
        "forward",
        ("type_widened", "$.score"),
        None,
    ),
    (
        "enum value added",
        _set("properties/status/enum", ["ok", "failed", "partial"]),
        "forward",
        ("enum_value_added", "$.status"),
        None,
    ),
    ("bound loosened", _set("properties/score/maximum", 100), "forward", ("bound_loosened", "$.score"), None),
    ("object opened", _set("additionalProperties", _DEL), "forward", ("object_opened", "$"), None),
    (
        "field added to a closed object",
        _props(summary={"type": "string"}),
        "forward",
        ("field_added_to_closed_object", "$.summary"),
        None,
    ),
]


@pytest.mark.parametrize("case", REJECT, ids=lambda c: c[0])
def test_breaking_changes_are_reported_with_their_path(case: tuple[Any, ...]) -> None:
    name, fn, direction, expected, witness = case
    new = edit(fn)
    found = kinds(BASE, new, direction)
    assert expected in found, found
    if witness is not None:
        writer, reader = (BASE, new) if direction == "backward" else (new, BASE)
        assert Draft202012Validator(writer).is_valid(witness)
        assert not Draft202012Validator(reader).is_valid(witness)


def test_pattern_changed_and_object_closed() -> None:
    old = obj({"id": {"type": "string", "pattern": "^a"}}, closed=False)
    new = obj({"id": {"type": "string", "pattern": "^b"}})
    assert sorted(kinds(old, new)) == [("object_closed", "$"), ("pattern_changed", "$.id")]


def test_field_added_to_an_open_object_constrains_what_old_data_may_hold() -> None:
    old = obj({"a": {"type": "string"}}, closed=False)
    new = obj({"a": {"type": "string"}, "b": {"type": "integer"}}, ["a"], closed=False)
    assert kinds(old, new) == [("field_added_to_open_object", "$.b")]
    assert not Draft202012Validator(new).is_valid({"a": "x", "b": "old data may put anything here"})


def test_overlapping_oneof_alternatives_are_not_assumed_exclusive() -> None:
    old = {"oneOf": [{"type": "string"}]}
    new = {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}
    assert kinds(old, new) == [("one_of_ambiguous", "$")]
    assert not Draft202012Validator(new).is_valid("ab")


def test_anyof_alternative_removed() -> None:
    old = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}
    assert kinds(old, {"anyOf": [{"type": "string"}, {"type": "integer"}]}) == [("type_narrowed", "$")]


def test_every_change_of_a_compound_edit_is_listed() -> None:
    def many(s: dict[str, Any]) -> None:
        s["properties"]["status"]["enum"] = ["ok"]
        s["properties"]["title"]["maxLength"] = 50
        s["$defs"]["Fact"]["properties"]["value"] = {"type": "number"}
        s["properties"]["lang"] = {"type": "string"}
        s["required"].append("lang")

    assert sorted(kinds(BASE, edit(many))) == [
        ("bound_tightened", "$.title"),
        ("enum_value_removed", "$.status"),
        ("required_field_added", "$.lang"),
        ("type_narrowed", "$.facts[*].value"),
    ]


def test_multiple_of() -> None:
    old = {"type": "number", "multipleOf": 0.5}
    assert kinds(old, {"type": "number", "multipleOf": 0.25}) == []
    assert kinds(old, {"type": "number", "multipleOf": 1}) == [("multiple_of_changed", "$")]
    assert kinds({"type": "integer"}, {"type": "integer", "multipleOf": 0.5}) == []


def test_draft4_exclusive_minimum_flag() -> None:
    old = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    assert kinds(old, {"type": "number", "exclusiveMinimum": 0}) == []
    assert kinds({"type": "number", "minimum": 0}, old) == [("bound_tightened", "$")]


def test_references_by_anchor_by_escaped_pointer_and_to_the_root() -> None:
    old = {
        "$defs": {"a/b": {"type": "string"}, "named": {"$anchor": "Name", "type": "integer"}},
        "type": "object",
        "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#Name"}, "self": {"$ref": "#"}},
    }
    new = copy.deepcopy(old)
    new["$defs"]["named"]["maximum"] = 3
    assert kinds(old, new) == [("bound_tightened", "$.y"), ("bound_tightened", "$.self.y")]


def test_ref_siblings_apply_from_2019_09_on_and_are_ignored_before() -> None:
    new = {"$defs": {"S": {"type": "string"}}, "$ref": "#/$defs/S", "maxLength": 3}
    assert kinds({"type": "string"}, new) == [("bound_tightened", "$")]
    legacy = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"S": {"type": "string"}},
        "$ref": "#/definitions/S",
        "maxLength": 3,
    }
    assert kinds({"type": "string"}, legacy) == []
