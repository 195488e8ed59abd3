"""Hypothesis strategies: small JSON Schemas, and schema evolutions made of
random edits (some safe, some breaking), for the diff's property tests."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

NAMES = ["a", "b", "c", "d"]
POOL: list[Any] = ["x", "y", "z", 1, 2, 2.5, True, None]
PATTERNS = ["^a", "^[a-z]*$", "b"]
Schema = dict[str, Any]


@st.composite
def leaf(draw: st.DrawFn) -> Schema:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", "null", "enum", "const"]))
    if kind == "string":
        s: Schema = {"type": "string"}
        if draw(st.booleans()):
            s["pattern"] = draw(st.sampled_from(PATTERNS))
        else:
            lo = draw(st.integers(0, 3))
            s["minLength"] = lo
            if draw(st.booleans()):
                s["maxLength"] = lo + draw(st.integers(0, 5))
        return s
    if kind in ("integer", "number"):
        s = {"type": kind}
        lo = draw(st.integers(-5, 5))
        if draw(st.booleans()):
            s["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = lo
        if draw(st.booleans()):
            s["maximum"] = lo + draw(st.integers(2, 10))
        return s
    if kind == "enum":
        return {"enum": draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique_by=repr))}
    if kind == "const":
        return {"const": draw(st.sampled_from(POOL))}
    return {"type": kind}


def schemas(depth: int = 0) -> st.SearchStrategy[Schema]:
    leaves = leaf()
    nullable = leaf().map(lambda s: {"anyOf": [s, {"type": "null"}]})
    if depth >= 2:
        return st.one_of(leaves, nullable)
    return st.one_of(leaves, nullable, arrays(depth + 1), objects(depth + 1))


@st.composite
def arrays(draw: st.DrawFn, depth: int) -> Schema:
    lo = draw(st.integers(0, 2))
    s: Schema = {"type": "array", "items": draw(schemas(depth)), "minItems": lo}
    if draw(st.booleans()):
        s["maxItems"] = lo + draw(st.integers(1, 3))
    return s


@st.composite
def objects(draw: st.DrawFn, depth: int) -> Schema:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    s: Schema = {"type": "object", "properties": {n: draw(schemas(depth)) for n in names}}
    s["required"] = [n for n in names if draw(st.booleans())]
    if draw(st.booleans()):
        s["additionalProperties"] = False
    return s


def nodes(s: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths (key tuples) to every sub-schema."""
    out = [at]
    if isinstance(s, dict):
        for k, v in s.get("properties", {}).items():
            out += nodes(v, (*at, "properties", k))
        if isinstance(s.get("items"), dict):
            out += nodes(s["items"], (*at, "items"))
        for i, v in enumerate(s.get("anyOf", [])):
            out += nodes(v, (*at, "anyOf", i))
    return out


def get(s: Any, at: tuple[Any, ...]) -> Any:
    for k in at:
        s = s[k]
    return s


def put(s: Schema, at: tuple[Any, ...], value: Any) -> Schema:
    if not at:
        return value
    get(s, at[:-1])[at[-1]] = value
    return s


# -- edits: each takes (draw, node) and returns the new node, or None if it does not apply


def _wrap_ref(draw: st.DrawFn, n: Schema, root: Schema) -> Schema:
    name = f"D{len(root.setdefault('$defs', {}))}"
    root["$defs"][name] = n
    return {"$ref": f"#/$defs/{name}"}


SAFE = {
    "annotate": lambda d, n, r: {**n, "description": "changed"},
    "wrap_allof": lambda d, n, r: {"allOf": [n]},
    "wrap_ref": _wrap_ref,
    "widen_anyof": lambda d, n, r: {"anyOf": [n, d(leaf())]},
    "add_null": lambda d, n, r: {"anyOf": [n, {"type": "null"}]},
    "add_optional_closed": lambda d, n, r: (
        {**n, "properties": {**n["properties"], "e": d(leaf())}}
        if n.get("additionalProperties") is False and "e" not in n.get("properties", {})
        else None
    ),
    "make_optional": lambda d, n, r: {**n, "required": []} if n.get("type") == "object" else None,
    "open": lambda d, n, r: (
        {k: v for k, v in n.items() if k != "additionalProperties"} if n.get("type") == "object" else None
    ),
    "add_enum_value": lambda d, n, r: (
        {"enum": [*n["enum"], "new"]} if "enum" in n and "new" not in n["enum"] else None
    ),
    "loosen_max": lambda d, n, r: {**n, "maximum": n["maximum"] + 5} if "maximum" in n else None,
    "loosen_min_length": lambda d, n, r: {**n, "minLength": 0} if "minLength" in n else None,
    "drop_pattern": lambda d, n, r: (
        {k: v for k, v in n.items() if k != "pattern"} if "pattern" in n else None
    ),
    "integer_to_number": lambda d, n, r: {**n, "type": "number"} if n.get("type") == "integer" else None,
    "drop_max_items": lambda d, n, r: (
        {k: v for k, v in n.items() if k != "maxItems"} if "maxItems" in n else None
    ),
}

BREAKING = {
    "add_required": lambda d, n, r: (
        {**n, "properties": {**n["properties"], "e": d(leaf())}, "required": [*n["required"], "e"]}
        if n.get("type") == "object" and "e" not in n["properties"]
        else None
    ),
    "remove_enum_value": lambda d, n, r: {"enum": n["enum"][1:]} if len(n.get("enum", [])) > 1 else None,
    "tighten_max": lambda d, n, r: {**n, "maximum": n["maximum"] - 1} if "maximum" in n else None,
    "tighten_min_length": lambda d, n, r: (
        {**n, "minLength": n["minLength"] + 1}
        if "minLength" in n and n.get("maxLength", 99) > n["minLength"]
        else None
    ),
    "drop_null": lambda d, n, r: (
        n["anyOf"][0]
        if n.get("anyOf", [None, None])[1:] == [{"type": "null"}]
        and n["anyOf"][0].get("type") != "null"
        and None not in n["anyOf"][0].get("enum", [0])
        and n["anyOf"][0].get("const", 0) is not None
        else None
    ),
    "close": lambda d, n, r: (
        {**n, "additionalProperties": False}
        if n.get("type") == "object" and "additionalProperties" not in n
        else None
    ),
    "number_to_integer": lambda d, n, r: {**n, "type": "integer"} if n.get("type") == "number" else None,
    "rename_required": lambda d, n, r: (
        {
            **n,
            "properties": {("e" if k == n["required"][0] else k): v for k, v in n["properties"].items()},
            "required": ["e", *n["required"][1:]],
        }
        if n.get("type") == "object" and n.get("required") and "e" not in n["properties"]
        else None
    ),
}
RANDOM = {
    **SAFE,
    **BREAKING,
    "replace": lambda d, n, r: d(schemas(1)),
    "remove_prop": lambda d, n, r: (
        {
            **n,
            "properties": dict(list(n["properties"].items())[1:]),
            "required": [x for x in n["required"] if x != next(iter(n["properties"]))],
        }
        if n.get("type") == "object" and len(n["properties"]) > 1
        else None
    ),
    "require_all": lambda d, n, r: (
        {**n, "required": list(n["properties"])} if n.get("type") == "object" else None
    ),
}


@st.composite
def evolve(
    draw: st.DrawFn, edits: dict[str, Any], base: st.SearchStrategy[Schema] | None = None, n: int = 1
) -> tuple[Schema, Schema, list[str]]:
    """(old, new, names of the edits applied): ``n`` edits from ``edits``."""
    old = draw(base if base is not None else objects(0))
    new = copy.deepcopy(old)
    done: list[str] = []
    for _ in range(n):
        at = draw(st.sampled_from(nodes(new)))
        name = draw(st.sampled_from(sorted(edits)))
        out = edits[name](draw, copy.deepcopy(get(new, at)), new)
        if out is not None:
            defs = new.get("$defs")
            new = put(new, at, out)
            if defs and not at:  # the root was replaced: keep what it defined
                new.setdefault("$defs", {}).update(defs)
            done.append(f"{name}@{'/'.join(map(str, at))}")
    return old, new, done
