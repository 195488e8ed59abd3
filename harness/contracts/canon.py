"""A schema in disjunctive normal form: a union of *branches*, each one JSON
type with the constraints that apply to it.

Every comparison reasons about branches, so ``type`` lists, nullable types,
``enum``/``const``, ``$ref``, ``allOf``, ``anyOf`` and ``oneOf`` all reduce to
the same few cases. Sub-schemas (properties, items) stay as raw nodes of
their document and are normalised only when the comparison reaches them.

Approximation is on the safe side of each role. The *writer* (whose
instances must be accepted) may be widened: keywords that only restrict it
are dropped. The *reader* (which must accept them) may only be narrowed:
keywords we cannot reason about are kept as *opaque* constraints, which the
comparison accepts only when the writer carries the same one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from harness.contracts.errors import ContractError
from harness.contracts.schema import Doc, as_bool, vkey

TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
Side = Literal["writer", "reader"]
Raws = tuple[Any, ...]  # raw sub-schemas that must all hold; () means anything

#: Beyond this many branches an ``allOf`` expansion is not attempted.
MAX_BRANCHES = 64

_GENERAL_OPAQUE = ("not", "if", "then", "else", "$dynamicRef", "$recursiveRef")
_OBJECT_OPAQUE = (
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
)
_ARRAY_OPAQUE = ("contains", "minContains", "maxContains", "unevaluatedItems")


@dataclass(frozen=True)
class Branch:
    """The instances of one JSON type that satisfy some constraints."""

    type: str
    values: tuple[Any, ...] | None = None  # a finite set (enum/const), or None
    lo: float | None = None
    lo_x: bool = False  # exclusive lower bound
    hi: float | None = None
    hi_x: bool = False
    multiples: tuple[float, ...] = ()
    min_len: int = 0
    max_len: int | None = None
    patterns: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False
    prefix: tuple[Raws, ...] = ()
    items: Raws = ()
    props: dict[str, Raws] = field(default_factory=dict)
    extra: Raws = ()
    required: frozenset[str] = frozenset()
    min_props: int = 0
    max_props: int | None = None
    opaque: tuple[tuple[str, Any], ...] = ()
    exclusive: bool = False  # from a oneOf whose alternatives may overlap


def type_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def accepts_type(reader: str, writer: str) -> bool:
    return reader == writer or (reader == "number" and writer == "integer")


def is_false(raws: Raws, doc: Doc) -> bool:
    return any(as_bool(doc.follow(r)) is False for r in raws)


def combine(raws: Raws) -> Any:
    """One raw schema meaning all of ``raws``."""
    raws = tuple(r for r in raws if r is not True)
    if not raws:
        return True
    return raws[0] if len(raws) == 1 else {"allOf": list(raws)}


def canon(doc: Doc, raw: Any, side: Side) -> list[Branch]:
    return _Canon(doc, side).run(raw)


class _Canon:
    def __init__(self, doc: Doc, side: Side) -> None:
        self.doc, self.side = doc, side
        self.refs: list[str] = []

    def run(self, raw: Any) -> list[Branch]:
        b = as_bool(raw)
        if b is not None:
            return [Branch(t) for t in TYPES] if b else []
        if not isinstance(raw, dict):
            raise ContractError(f"{self.doc.name}: not a schema: {raw!r}")
        parts = [self._own(raw)]
        ref = raw.get("$ref")
        if isinstance(ref, str):
            if ref in self.refs:  # a reference cycle that adds no structure
                return self._unknown(raw)
            self.refs.append(ref)
            try:
                target = self.run(self.doc.resolve(ref))
            finally:
                self.refs.pop()
            if self.doc.legacy:  # siblings of $ref are ignored before 2019-09
                return target
            parts.append(target)
        for sub in raw.get("allOf", []):
            parts.append(self.run(sub))
        if "anyOf" in raw:
            parts.append([b for sub in raw["anyOf"] for b in self.run(sub)])
        if "oneOf" in raw:
            parts.append(self._one_of(raw["oneOf"]))
        out = parts[0]
        for p in parts[1:]:
            out = [m for a in out for b in p if (m := merge(a, b)) is not None]
            if len(out) > MAX_BRANCHES:
                return self._unknown(raw)
        return out

    def _unknown(self, raw: Any) -> list[Branch]:
        if self.side == "writer":
            return [Branch(t) for t in TYPES]
        return [Branch(t, opaque=(("$complex", raw),)) for t in TYPES]

    def _one_of(self, subs: list[Any]) -> list[Branch]:
        groups = [self.run(s) for s in subs]
        out = [b for g in groups for b in g]
        if self.side == "reader":
            for i, gi in enumerate(groups):
                for gj in groups[i + 1 :]:
                    if not all(disjoint(a, b, self.doc) for a in gi for b in gj):
                        return [replace(b, exclusive=True) for b in out]
        return out

    def _own(self, n: dict[str, Any]) -> list[Branch]:
        """The branches of ``n``'s own keywords (not $ref or the combinators)."""
        t = n.get("type")
        types = set(TYPES) if t is None else {t} if isinstance(t, str) else set(t)
        if n.get("nullable") is True and t is not None:
            types.add("null")
        if "number" in types:
            types.discard("integer")
        values: list[Any] | None = None
        if "const" in n:
            values = [n["const"]]
        if "enum" in n:
            keep = None if values is None else {vkey(v) for v in values}
            values = [v for v in n["enum"] if keep is None or vkey(v) in keep]
        out = []
        for ty in sorted(types, key=TYPES.index):
            b = Branch(ty)
            if values is not None:
                vs = tuple(v for v in values if accepts_type(ty, type_of(v)))
                if not vs:
                    continue
                b = replace(b, values=vs)
            out.append(self._keywords(b, n))
        return out

    def _keywords(self, b: Branch, n: dict[str, Any]) -> Branch:
        kw: dict[str, Any] = {}
        opaque = [(k, n[k]) for k in _GENERAL_OPAQUE if k in n]
        if b.type in ("integer", "number"):
            kw.update(_bounds(n, self.doc.draft))
            if "multipleOf" in n:
                kw["multiples"] = (n["multipleOf"],)
        elif b.type == "string":
            kw["min_len"] = n.get("minLength", 0)
            kw["max_len"] = n.get("maxLength")
            if "pattern" in n:
                kw["patterns"] = frozenset([n["pattern"]])
            if "format" in n:
                kw["formats"] = frozenset([n["format"]])
        elif b.type == "array":
            kw.update(self._array(n))
            opaque += [(k, n[k]) for k in _ARRAY_OPAQUE if k in n]
        elif b.type == "object":
            kw.update(self._object(n))
            opaque += [(k, n[k]) for k in _OBJECT_OPAQUE if k in n]
        return replace(b, opaque=tuple(opaque), **kw)

    def _array(self, n: dict[str, Any]) -> dict[str, Any]:
        items = n.get("items", True)
        if isinstance(items, list):  # the tuple form of drafts 4 to 7
            prefix, rest = items, n.get("additionalItems", True)
        else:
            prefix, rest = n.get("prefixItems", []), items
        return {
            "min_items": n.get("minItems", 0),
            "max_items": n.get("maxItems"),
            "unique": bool(n.get("uniqueItems", False)),
            "prefix": tuple((p,) for p in prefix),
            "items": () if rest is True else (rest,),
        }

    def _object(self, n: dict[str, Any]) -> dict[str, Any]:
        extra: Raws = () if n.get("additionalProperties", True) is True else (n["additionalProperties"],)
        patterns = list(n.get("patternProperties", {}).values())
        if patterns and self.side == "writer":
            # An undeclared name may match a pattern instead: widen to any of them.
            extra = ({"anyOf": [combine(extra), *patterns]},)
        return {
            "props": {k: (v,) for k, v in n.get("properties", {}).items()},
            "extra": extra,
            "required": frozenset(n.get("required", [])),
            "min_props": n.get("minProperties", 0),
            "max_props": n.get("maxProperties"),
        }


def _bounds(n: dict[str, Any], draft: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lo, hi = n.get("minimum"), n.get("maximum")
    xlo, xhi = n.get("exclusiveMinimum"), n.get("exclusiveMaximum")
    if isinstance(xlo, bool):  # draft 4: a flag on minimum
        out.update(lo=lo, lo_x=xlo and lo is not None)
    else:
        out.update(_tighter_lo(lo, False, xlo, True))
    if isinstance(xhi, bool):
        out.update(hi=hi, hi_x=xhi and hi is not None)
    else:
        out.update(_tighter_hi(hi, False, xhi, True))
    return out


def _tighter_lo(a: float | None, ax: bool, b: float | None, bx: bool) -> dict[str, Any]:
    if b is None or (a is not None and (a > b or (a == b and ax))):
        return {"lo": a, "lo_x": ax and a is not None}
    return {"lo": b, "lo_x": bx}


def _tighter_hi(a: float | None, ax: bool, b: float | None, bx: bool) -> dict[str, Any]:
    if b is None or (a is not None and (a < b or (a == b and ax))):
        return {"hi": a, "hi_x": ax and a is not None}
    return {"hi": b, "hi_x": bx}


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def merge(a: Branch, b: Branch) -> Branch | None:
    """The intersection of two branches, or None when it is certainly empty."""
    if a.type == b.type:
        ty = a.type
    elif {a.type, b.type} == {"integer", "number"}:
        ty = "integer"
    else:
        return None
    values = a.values
    if a.values is not None and b.values is not None:
        keep = {vkey(v) for v in b.values}
        values = tuple(v for v in a.values if vkey(v) in keep)
    elif b.values is not None:
        values = b.values
    if values is not None:
        values = tuple(v for v in values if accepts_type(ty, type_of(v)))
        if not values:
            return None
    n = max(len(a.prefix), len(b.prefix))
    prefix = tuple(
        (a.prefix[i] if i < len(a.prefix) else a.items) + (b.prefix[i] if i < len(b.prefix) else b.items)
        for i in range(n)
    )
    names = list(dict.fromkeys([*a.props, *b.props]))
    props = {p: a.props.get(p, a.extra) + b.props.get(p, b.extra) for p in names}
    return Branch(
        ty,
        values,
        **_tighter_lo(a.lo, a.lo_x, b.lo, b.lo_x),
        **_tighter_hi(a.hi, a.hi_x, b.hi, b.hi_x),
        multiples=a.multiples + b.multiples,
        min_len=max(a.min_len, b.min_len),
        max_len=_min(a.max_len, b.max_len),
        patterns=a.patterns | b.patterns,
        formats=a.formats | b.formats,
        min_items=max(a.min_items, b.min_items),
        max_items=_min(a.max_items, b.max_items),
        unique=a.unique or b.unique,
        prefix=prefix,
        items=a.items + b.items,
        props=props,
        extra=a.extra + b.extra,
        required=a.required | b.required,
        min_props=max(a.min_props, b.min_props),
        max_props=_min(a.max_props, b.max_props),
        opaque=a.opaque + b.opaque,
        exclusive=a.exclusive or b.exclusive,
    )


def int_bounds(b: Branch) -> tuple[float, float]:
    """An integer branch's bounds as an inclusive range (infinite when open)."""
    lo = -math.inf if b.lo is None else (math.floor(b.lo) + 1 if b.lo_x else math.ceil(b.lo))
    hi = math.inf if b.hi is None else (math.ceil(b.hi) - 1 if b.hi_x else math.floor(b.hi))
    return lo, hi


def empty(b: Branch) -> bool:
    """Whether a branch certainly has no instances (contradictory bounds)."""
    if b.values is not None and not b.values:
        return True
    if b.type == "integer":
        lo, hi = int_bounds(b)
        return lo > hi
    if b.type == "number" and b.lo is not None and b.hi is not None:
        return b.lo > b.hi or (b.lo == b.hi and (b.lo_x or b.hi_x))
    if b.type == "string":
        return b.max_len is not None and b.min_len > b.max_len
    if b.type == "array":
        return b.max_items is not None and b.min_items > b.max_items
    if b.type == "object":
        return b.max_props is not None and max(b.min_props, len(b.required)) > b.max_props
    return False


def disjoint(a: Branch, b: Branch, doc: Doc) -> bool:
    """Whether no instance can be in both branches (a sufficient test)."""
    m = merge(a, b)
    if m is None or empty(m):
        return True
    if m.type == "object":
        for p in a.required & b.required:
            va, vb = _finite(a.props.get(p, ()), doc), _finite(b.props.get(p, ()), doc)
            if va is not None and vb is not None and not (va & vb):
                return True
    return False


def _finite(raws: Raws, doc: Doc) -> set[Any] | None:
    """The finite set of values ``raws`` allows, if it is one (a discriminator)."""
    if not raws:
        return None
    branches = canon(doc, combine(raws), "writer")
    if not branches or any(b.values is None for b in branches):
        return None
    return {vkey(v) for b in branches for v in b.values or ()}
