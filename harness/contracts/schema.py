"""A JSON Schema document: loading, ``$ref`` resolution, validating a value at
any position, and structural equivalence that ignores annotations.

Drafts 4 to 2020-12 are understood; the draft is read from ``$schema``
(default 2020-12). Only references inside the document are resolved.

A document nests at most :data:`MAX_NESTING` levels deep. Validation stays
linear in the size of an ``enum`` (a set lookup, not a scan of the list), so
comparing schemas with enums of many thousand values takes seconds, not hours.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator, SchemaError, ValidationError
from jsonschema.validators import extend, validator_for
from referencing import Registry, Resource
from referencing.jsonschema import specification_with

from harness.contracts.errors import ContractError

#: Keywords that never change which instances are valid.
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$schema",
        "$id",
        "$anchor",
        "$dynamicAnchor",
        "$vocabulary",
        "discriminator",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "$defs",
        "definitions",
    }
)
SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONE = (
    "additionalProperties",
    "items",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_LEGACY = {
    "http://json-schema.org/draft-04/schema#": 4,
    "http://json-schema.org/draft-06/schema#": 6,
    "http://json-schema.org/draft-07/schema#": 7,
}
_DOC_URI = "urn:harness:contract-doc"

#: JSON nesting (objects and arrays) allowed in a schema document; deeper is
#: bad input (the comparison and the validators recurse through it).
MAX_NESTING = 100


def is_annotation(key: str) -> bool:
    return key in ANNOTATIONS or key.startswith("x-")


def vkey(v: Any) -> Any:
    """A hashable key under which JSON values are equal as JSON Schema's
    ``enum``/``const`` compare them (1 == 1.0, but True != 1)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int | float):
        return ("num", v)
    if isinstance(v, str):
        return ("str", v)
    if v is None:
        return ("null",)
    if isinstance(v, list):
        return ("list", tuple(vkey(x) for x in v))
    if isinstance(v, dict):
        return ("obj", frozenset((k, vkey(x)) for k, x in v.items()))
    return ("other", repr(v))


class Doc:
    """One schema document; nodes inside it are plain JSON values."""

    def __init__(self, schema: Any, name: str = "schema") -> None:
        self.name = name
        if not isinstance(schema, dict | bool):
            raise ContractError(f"{name}: a JSON Schema must be an object or a boolean")
        if _too_deep(schema):
            raise ContractError(f"{name}: nested deeper than {MAX_NESTING} levels")
        self.root = schema
        dialect = schema.get("$schema") if isinstance(schema, dict) else None
        self.draft = _LEGACY.get(str(dialect).rstrip("#") + "#", 2020) if dialect else 2020
        self.legacy = self.draft <= 7
        cls = _fast(validator_for(schema, default=Draft202012Validator))
        try:
            _check_schema(cls, schema)
        except SchemaError as e:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            raise ContractError(
                f"{name}: not a valid JSON Schema at {where}: {_first_line(e.message)}"
            ) from None
        problem = keyword_problem(schema)
        if problem is not None:
            raise ContractError(f"{name}: not a valid JSON Schema at {problem}")
        self._cls = cls
        self._id = schema.get("$id", "") if isinstance(schema, dict) else ""
        self._anchors: dict[str, Any] = {}
        self._validators: dict[str, Any] = {}
        self._by_id: dict[int, tuple[Any, Any]] = {}  # id(node) -> (node, validator)
        self._registry: Registry | None = None
        self._scan(schema)

    @classmethod
    def load(cls, path: str | Path) -> Doc:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ContractError(f"{p}: no such file") from None
        except IsADirectoryError:
            raise ContractError(f"{p}: is a directory, expected a schema file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ContractError(f"{p}: cannot read: {_first_line(str(e))}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ContractError(f"{p}: not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        except RecursionError:
            raise ContractError(f"{p}: not JSON this reader accepts: nested too deeply") from None
        except ValueError as e:  # e.g. an integer of more digits than Python converts
            raise ContractError(f"{p}: not JSON this reader accepts: {_first_line(str(e))}") from None
        return cls(data, str(p))

    # -- references ------------------------------------------------------------

    def _scan(self, node: Any) -> None:
        """Index anchors, then resolve every reference once so a bad one is
        reported at load time rather than in the middle of a comparison."""
        refs: list[str] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, dict):
                if isinstance(n.get("$anchor"), str):
                    self._anchors[n["$anchor"]] = n
                if isinstance(n.get("$ref"), str):
                    refs.append(n["$ref"])
                for k, v in n.items():
                    if k not in ("enum", "const", "default", "examples"):
                        stack.append(v)
            elif isinstance(n, list):
                stack.extend(n)
        for r in refs:
            self.resolve(r)

    def resolve(self, ref: str) -> Any:
        if self._id and ref.startswith(self._id):
            ref = ref[len(self._id) :]
        if ref in ("", "#"):
            return self.root
        if not ref.startswith("#"):
            raise ContractError(
                f"{self.name}: external $ref {ref!r} is not supported; bundle it into the file"
            )
        frag = unquote(ref[1:])
        if not frag.startswith("/"):
            if frag in self._anchors:
                return self._anchors[frag]
            raise ContractError(f"{self.name}: unresolvable $ref {ref!r}")
        node = self.root
        for token in frag[1:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise ContractError(f"{self.name}: unresolvable $ref {ref!r}")
        return node

    def follow(self, node: Any) -> Any:
        """``node`` with any chain of bare references (``{"$ref": ...}`` plus
        annotations only) followed to its target."""
        seen: set[int] = set()
        while isinstance(node, dict) and "$ref" in node and id(node) not in seen:
            if not self.legacy and any(not is_annotation(k) for k in node if k != "$ref"):
                break
            seen.add(id(node))
            node = self.resolve(node["$ref"])
        return node

    # -- validation --------------------------------------------------------------

    def valid(self, node: Any, value: Any) -> bool:
        """Whether ``value`` is valid against ``node``, a schema inside this document."""
        if node is True or node == {}:
            return True
        if node is False:
            return False
        hit = self._by_id.get(id(node))
        if hit is not None and hit[0] is node:  # the same node again: no need to serialise it
            return bool(hit[1].is_valid(value))
        key = json.dumps(node, sort_keys=True, default=str)
        v = self._validators.get(key)
        if v is None:
            if self._registry is None:
                root = copy.deepcopy(self.root)
                if isinstance(root, dict):
                    root.pop("$id", None)
                spec = specification_with(self._cls.META_SCHEMA.get("$schema", ""), default=None)
                res = (
                    Resource.from_contents(root, default_specification=spec)
                    if spec
                    else Resource.opaque(root)
                )
                self._registry = Registry().with_resource(_DOC_URI, res)
            v = self._cls(_rebase(node), registry=self._registry)
            self._validators[key] = v
        self._by_id[id(node)] = (node, v)  # holding the node keeps its id from being reused
        return bool(v.is_valid(value))


_CHECKED: dict[str, None] = {}


def _check_schema(cls: Any, schema: Any) -> None:
    """``cls.check_schema``, remembered: meta-validation is slow (tens of ms).
    The meta-schema's validator is :func:`_fast` too (draft 4 asks for unique
    ``enum`` values, which jsonschema checks in quadratic time for mixed types)."""
    key = json.dumps(schema, sort_keys=True, default=str)
    if key in _CHECKED:
        return
    meta = _fast(validator_for(cls.META_SCHEMA, default=cls))
    for error in meta(cls.META_SCHEMA, format_checker=meta.FORMAT_CHECKER).iter_errors(schema):
        raise SchemaError.create_from(error)
    if len(_CHECKED) > 4096:
        _CHECKED.clear()
    _CHECKED[key] = None


def _too_deep(node: Any) -> bool:
    """Whether ``node`` nests objects and arrays more than :data:`MAX_NESTING` deep."""
    stack = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        children = n.values() if isinstance(n, dict) else n if isinstance(n, list) else None
        if children is None:
            continue
        if depth > MAX_NESTING:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


_JSON_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
_COUNTS = (
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _own_problem(n: dict[str, Any]) -> str | None:
    """What is wrong with the keywords of one schema object that the
    comparison reads, or None."""
    for k in _COUNTS:
        if k in n and not (_number(n[k]) and n[k] >= 0 and float(n[k]).is_integer()):
            return f"{k}: must be a non-negative integer"
    for k in ("minimum", "maximum"):
        if k in n and not _number(n[k]):
            return f"{k}: must be a number"
    for k in ("exclusiveMinimum", "exclusiveMaximum"):
        if k in n and not (_number(n[k]) or isinstance(n[k], bool)):
            return f"{k}: must be a number (or a boolean, draft 4)"
    if "multipleOf" in n and not (_number(n["multipleOf"]) and n["multipleOf"] > 0):
        return "multipleOf: must be a number above zero"
    t = n.get("type")
    if t is not None and not (
        t in _JSON_TYPES if isinstance(t, str) else _strings(t) and set(t) <= _JSON_TYPES
    ):
        return "type: must be a JSON type or a list of them"
    if "required" in n and not _strings(n["required"]):
        return "required: must be a list of strings"
    if "enum" in n and not isinstance(n["enum"], list):
        return "enum: must be a list"
    for k in ("pattern", "format", "$ref", "$anchor"):
        if k in n and not isinstance(n[k], str):
            return f"{k}: must be a string"
    if "uniqueItems" in n and not isinstance(n["uniqueItems"], bool):
        return "uniqueItems: must be a boolean"
    dr = n.get("dependentRequired")
    if dr is not None and not (isinstance(dr, dict) and all(_strings(v) for v in dr.values())):
        return "dependentRequired: must map names to lists of names"
    deps = n.get("dependencies")
    if deps is not None and not (
        isinstance(deps, dict) and all(_strings(v) or isinstance(v, dict | bool) for v in deps.values())
    ):
        return "dependencies: must map names to lists of names or to schemas"
    return None


def keyword_problem(schema: Any) -> str | None:
    """Where (``path: why``) a schema has a keyword of the wrong type at any
    position the comparison reads, or None. The meta-schema checks most of
    this, but not below keywords its draft does not know (``prefixItems`` in
    draft 7, say), which the comparison reads all the same."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(schema, ())]

    def at(path: tuple[Any, ...], why: str) -> str:
        return f"{'/'.join(map(str, path)) or '(root)'}: {why}"

    while stack:
        node, path = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return at(path, "must be a schema (an object or a boolean)")
        why = _own_problem(node)
        if why is not None:
            key, _, why = why.partition(": ")
            return at((*path, key), why)
        for k in (*SCHEMA_MAPS, "$defs", "definitions"):
            if k in node:
                if not isinstance(node[k], dict):
                    return at((*path, k), "must be an object of schemas")
                stack.extend((v, (*path, k, p)) for p, v in node[k].items())
        for k in SCHEMA_LISTS:
            if k in node:
                if not isinstance(node[k], list):
                    return at((*path, k), "must be a list of schemas")
                stack.extend((v, (*path, k, i)) for i, v in enumerate(node[k]))
        for k in SCHEMA_ONE:
            if k in node:
                v = node[k]
                if k == "items" and isinstance(v, list):  # the tuple form of drafts 4 to 7
                    stack.extend((x, (*path, k, i)) for i, x in enumerate(v))
                else:
                    stack.append((v, (*path, k)))
        deps = node.get("dependencies")
        if isinstance(deps, dict):
            stack.extend(
                (v, (*path, "dependencies", p)) for p, v in deps.items() if isinstance(v, dict | bool)
            )
    return None


#: Above this many values an ``enum`` is looked up in a set, and arrays are
#: checked for unique items through a set (below it, jsonschema's own code and messages).
_BIG = 32
_SETS: dict[int, tuple[Any, frozenset[Any]]] = {}
_FAST: dict[type, type] = {}


def _value_set(values: list[Any]) -> frozenset[Any]:
    hit = _SETS.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1]
    if len(_SETS) > 256:
        _SETS.clear()
    out = frozenset(vkey(v) for v in values)
    _SETS[id(values)] = (values, out)  # holding the list keeps its id from being reused
    return out


def _fast(cls: type) -> type:
    """``cls`` with ``enum`` and ``uniqueItems`` in linear time: values are
    compared by :func:`vkey`, which equates JSON values as JSON Schema does."""
    out = _FAST.get(cls)
    if out is not None or cls in _FAST.values():
        return out or cls
    slow = cls.VALIDATORS  # type: ignore[attr-defined]

    def enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Any:
        if not isinstance(enums, list) or len(enums) <= _BIG:
            yield from slow["enum"](validator, enums, instance, schema)
        elif vkey(instance) not in _value_set(enums):
            yield ValidationError(f"{_short(instance)} is not one of the {len(enums)} values of the enum")

    def unique(validator: Any, ui: Any, instance: Any, schema: Any) -> Any:
        if not isinstance(instance, list) or len(instance) <= _BIG:
            yield from slow["uniqueItems"](validator, ui, instance, schema)
        elif ui and len({vkey(x) for x in instance}) != len(instance):
            yield ValidationError(f"an array of {len(instance)} items has non-unique elements")

    validators = {"enum": enum}
    if "uniqueItems" in slow:
        validators["uniqueItems"] = unique
    out = extend(cls, validators)
    _FAST[cls] = out
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _rebase(node: Any) -> Any:
    """A copy of ``node`` whose local references point into the registered document."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#"):
                out[k] = _DOC_URI + v
            elif k in ("enum", "const", "default", "examples"):
                out[k] = v
            else:
                out[k] = _rebase(v)
        out.pop("$id", None)
        return out
    if isinstance(node, list):
        return [_rebase(x) for x in node]
    return node


def _first_line(s: str) -> str:
    line = s.strip().splitlines()[0] if s.strip() else s
    return line if len(line) <= 200 else line[:197] + "..."


def as_bool(node: Any) -> bool | None:
    """True or False when ``node`` is a schema that accepts everything or
    nothing on its face; None otherwise."""
    if isinstance(node, bool):
        return node
    if isinstance(node, dict) and all(is_annotation(k) for k in node):
        return True
    return None


def equivalent(a: Any, da: Doc, b: Any, db: Doc) -> bool:
    """Whether two schemas (in documents ``da`` and ``db``) are the same up to
    annotations, key order and reference names. A sufficient test, not a
    semantic one: two different spellings of one set of instances may differ."""
    return _Eq(da, db).eq(a, b)


class _Eq:
    def __init__(self, da: Doc, db: Doc) -> None:
        self.da, self.db = da, db
        self.seen: set[tuple[int, int]] = set()

    def eq(self, a: Any, b: Any) -> bool:
        a, b = self.da.follow(a), self.db.follow(b)
        ba, bb = as_bool(a), as_bool(b)
        if ba is not None or bb is not None:
            return ba is not None and ba == bb
        if not isinstance(a, dict) or not isinstance(b, dict):
            return False
        pair = (id(a), id(b))
        if pair in self.seen:
            return True
        self.seen.add(pair)
        ka = {k for k in a if not is_annotation(k)}
        kb = {k for k in b if not is_annotation(k)}
        if ka != kb:
            return False
        return all(self._kw(k, a[k], b[k]) for k in ka)

    def _kw(self, k: str, x: Any, y: Any) -> bool:
        if k == "$ref":
            return self.eq(self.da.resolve(x), self.db.resolve(y))
        if k in SCHEMA_MAPS:
            return set(x) == set(y) and all(self.eq(x[n], y[n]) for n in x)
        if k in SCHEMA_LISTS or (k == "items" and isinstance(x, list)):
            return (
                isinstance(y, list)
                and len(x) == len(y)
                and all(self.eq(p, q) for p, q in zip(x, y, strict=True))
            )
        if k in SCHEMA_ONE:
            return not isinstance(y, list) and self.eq(x, y)
        if k in ("type", "required"):
            return _set(x) == _set(y)
        if k == "enum":
            return {vkey(v) for v in x} == {vkey(v) for v in y}
        if k == "dependentRequired":
            return set(x) == set(y) and all(set(x[n]) == set(y[n]) for n in x)
        if k == "dependencies":  # drafts 4 to 7: a list of names or a schema per name
            return set(x) == set(y) and all(
                set(x[n]) == set(y[n]) if isinstance(x[n], list) else self.eq(x[n], y[n]) for n in x
            )
        return vkey(x) == vkey(y)


def _set(x: Any) -> frozenset[Any]:
    return frozenset([x] if isinstance(x, str) else x)
