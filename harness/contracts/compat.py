"""Whether every instance of a *writer* schema is valid under a *reader*
schema, and if not, each reason why at its JSON path.

BACKWARD compatibility (the new schema reads old data) is the old schema as
writer and the new one as reader; FORWARD (old readers read new data) is the
reverse. The same comparison serves both; only the names of the changes
depend on which side is new.

The comparison is sound: when it reports no change, every instance of the
writer is valid under the reader. Where it cannot decide (regular-expression
containment, ``not``, ``if``/``then``/``else``, overlapping ``oneOf``
alternatives) it reports a change rather than guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from harness.contracts.canon import (
    Branch,
    accepts_type,
    canon,
    combine,
    empty,
    int_bounds,
    is_false,
)
from harness.contracts.schema import Doc, equivalent

Direction = Literal["backward", "forward"]

#: Instances nested deeper than this are not compared (a change is reported).
MAX_DEPTH = 64


class _Seg(str):
    """A path segment that is not a property name."""


ITEM, ANY = _Seg("[*]"), _Seg(".*")
Path = tuple[str | int, ...]

#: situation -> (its name when the reader is the new schema, when it is the old one)
KINDS: dict[str, tuple[str, str]] = {
    "type": ("type_narrowed", "type_widened"),
    "values": ("enum_value_removed", "enum_value_added"),
    "const": ("const_changed", "const_changed"),
    "enum_new": ("enum_added", "enum_removed"),
    "bound": ("bound_tightened", "bound_loosened"),
    "multiple": ("multiple_of_changed", "multiple_of_changed"),
    "pattern": ("pattern_added", "pattern_removed"),
    "pattern_changed": ("pattern_changed", "pattern_changed"),
    "format": ("format_added", "format_removed"),
    "format_changed": ("format_changed", "format_changed"),
    "unique": ("unique_items_added", "unique_items_removed"),
    "required_new": ("required_field_added", "required_field_removed"),
    "required_made": ("field_made_required", "field_made_optional"),
    "renamed": ("field_renamed", "field_renamed"),
    "closed_field": ("field_removed_from_closed_object", "field_added_to_closed_object"),
    "open_field": ("field_added_to_open_object", "field_removed_from_open_object"),
    "closed": ("object_closed", "object_opened"),
    "array_closed": ("array_closed", "array_opened"),
    "one_of": ("one_of_ambiguous", "one_of_ambiguous"),
    "opaque": ("unsupported_keyword", "unsupported_keyword"),
    "depth": ("too_deep", "too_deep"),
}


@dataclass(frozen=True)
class Change:
    """One breaking change: ``kind`` names it, ``path`` is where in an instance
    it bites, ``breaks`` says which compatibility it breaks."""

    kind: str
    path: str
    message: str
    breaks: Direction
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "path": self.path, "breaks": self.breaks, "message": self.message}
        if self.old is not None:
            d["old"] = self.old
        if self.new is not None:
            d["new"] = self.new
        return d


def render(path: Path) -> str:
    """``$.facts[*].value`` style JSON path."""
    out = "$"
    for seg in path:
        if isinstance(seg, _Seg):
            out += str(seg)
        elif isinstance(seg, int):
            out += f"[{seg}]"
        elif seg.isidentifier():
            out += f".{seg}"
        else:
            out += "[" + json.dumps(seg) + "]"
    return out


def breaking_changes(
    writer: Doc,
    reader: Doc,
    direction: Direction,
    labels: tuple[str, str] | None = None,
    renames: bool = True,
) -> list[Change]:
    """Every reason an instance of ``writer`` may be invalid under ``reader``.
    ``labels`` name the writer and the reader in messages (default: old/new);
    ``renames`` pairs a lost required field with a gained one of the same
    schema and reports a rename (right for two versions of one schema)."""
    c = _Comparer(writer, reader, direction, labels)
    c.renames = renames
    return c.covers(writer.root, reader.root, ())


class _Comparer:
    def __init__(
        self, writer: Doc, reader: Doc, direction: Direction, labels: tuple[str, str] | None = None
    ) -> None:
        self.w, self.r, self.dir = writer, reader, direction
        self.W, self.R = labels or (("old", "new") if direction == "backward" else ("new", "old"))
        self.active: set[tuple[str, str]] = set()
        self.renames = True

    def change(self, situation: str, path: Path, message: str, w: Any = None, r: Any = None) -> Change:
        kind = KINDS[situation][0 if self.dir == "backward" else 1]
        old, new = (w, r) if self.dir == "backward" else (r, w)
        return Change(kind, render(path), message, self.dir, old, new)

    # -- one position ------------------------------------------------------------

    def covers(self, w: Any, r: Any, path: Path) -> list[Change]:
        if len(path) > MAX_DEPTH:
            return [self.change("depth", path, f"nested deeper than {MAX_DEPTH} levels; not compared")]
        if equivalent(w, self.w, r, self.r):
            return []
        key = (json.dumps(w, sort_keys=True, default=str), json.dumps(r, sort_keys=True, default=str))
        if key in self.active:  # a recursive schema met itself again: assume, coinductively
            return []
        self.active.add(key)
        try:
            return _dedupe(self._covers(w, r, path))
        finally:
            self.active.discard(key)

    def _covers(self, w: Any, r: Any, path: Path) -> list[Change]:
        wb = [b for b in canon(self.w, w, "writer") if not empty(b)]
        rb = canon(self.r, r, "reader")
        out: list[Change] = []
        lost: list[str] = []
        for b in wb:
            if b.values is not None:
                out += self._values(b, w, r, rb, path)
                continue
            cands = [c for c in rb if accepts_type(c.type, b.type)]
            if not cands:
                lost.append(b.type)
                continue
            best: list[Change] | None = None
            for c in cands:
                ch = self._branch(b, c, path)
                if best is None or len(ch) < len(best):
                    best = ch
                if not ch:
                    break
            out += best or []
        if lost:
            wt = sorted({b.type for b in wb})
            rt = sorted({c.type for c in rb})
            msg = f"{'|'.join(lost)} is allowed by the {self.W} schema but not by the {self.R} schema"
            out.insert(
                0, self.change("type", path, msg, "|".join(wt) or "nothing", "|".join(rt) or "nothing")
            )
        return out

    def _values(self, b: Branch, w: Any, r: Any, rb: list[Branch], path: Path) -> list[Change]:
        bad = [v for v in b.values or () if self.w.valid(w, v) and not self.r.valid(r, v)]
        if not bad:
            return []
        rv = [v for c in rb if c.values is not None for v in c.values]
        if len(b.values or ()) == 1 and len(rv) == 1:
            return [self.change("const", path, f"constant {bad[0]!r} -> {rv[0]!r}", bad[0], rv[0])]
        msg = f"{_values_text(bad)} allowed by the {self.W} schema, rejected by the {self.R} schema"
        return [self.change("values", path, msg, bad, None)]

    def _branch(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out = self._opaque(b, c, path)
        if c.exclusive:
            msg = (
                f"the {self.R} schema's oneOf alternatives may overlap; an instance matching two is rejected"
            )
            out.append(self.change("one_of", path, msg))
        if c.values is not None:
            shown = _values_text(c.values)
            msg = f"the {self.R} schema allows only {shown}; the {self.W} schema allows any {b.type}"
            return [*out, self.change("enum_new", path, msg, None, list(c.values))]
        if b.type in ("integer", "number"):
            out += self._numbers(b, c, path)
        elif b.type == "string":
            out += self._strings(b, c, path)
        elif b.type == "array":
            out += self._arrays(b, c, path)
        elif b.type == "object":
            out += self._objects(b, c, path)
        return out

    def _opaque(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out = []
        for kw, val in c.opaque:
            if kw != "$complex" and any(
                k == kw and equivalent({kw: v}, self.w, {kw: val}, self.r) for k, v in b.opaque
            ):
                continue
            what = "a combination too large to expand" if kw == "$complex" else f"'{kw}'"
            msg = f"cannot prove {what} in the {self.R} schema holds for the {self.W} schema's instances"
            out.append(self.change("opaque", path, msg))
        return out

    # -- per type ----------------------------------------------------------------

    def _bound(self, path: Path, name: str, w: Any, r: Any) -> Change:
        old, new = (w, r) if self.dir == "backward" else (r, w)
        return self.change("bound", path, f"{name} {_show(old)} -> {_show(new)}", w, r)

    def _numbers(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out = []
        if b.type == "integer":
            (wlo, whi), (rlo, rhi) = int_bounds(b), int_bounds(Branch("integer", **_nb(c)))
            lo_bad, hi_bad = rlo > wlo, rhi < whi
        else:
            lo_bad = c.lo is not None and (
                b.lo is None or c.lo > b.lo or (c.lo == b.lo and c.lo_x and not b.lo_x)
            )
            hi_bad = c.hi is not None and (
                b.hi is None or c.hi < b.hi or (c.hi == b.hi and c.hi_x and not b.hi_x)
            )
        if lo_bad:
            out.append(self._bound(path, "lower bound", _lo(b), _lo(c)))
        if hi_bad:
            out.append(self._bound(path, "upper bound", _hi(b), _hi(c)))
        for m in c.multiples:
            if not any(_divides(m, x) for x in b.multiples) and not (b.type == "integer" and _divides(m, 1)):
                w = list(b.multiples) or None
                out.append(
                    self.change("multiple", path, f"the {self.R} schema requires multiples of {m}", w, m)
                )
        return out

    def _strings(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out = []
        if c.min_len > b.min_len:
            out.append(self._bound(path, "minLength", b.min_len, c.min_len))
        if c.max_len is not None and (b.max_len is None or c.max_len < b.max_len):
            out.append(self._bound(path, "maxLength", b.max_len, c.max_len))
        for p in sorted(c.patterns - b.patterns):
            sit = "pattern_changed" if b.patterns else "pattern"
            w = "|".join(sorted(b.patterns)) or None
            out.append(self.change(sit, path, f"the {self.R} schema requires pattern {p!r}", w, p))
        for f in sorted(c.formats - b.formats):
            sit = "format_changed" if b.formats else "format"
            w = "|".join(sorted(b.formats)) or None
            out.append(self.change(sit, path, f"the {self.R} schema requires format {f!r}", w, f))
        return out

    def _arrays(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out = []
        if c.min_items > b.min_items:
            out.append(self._bound(path, "minItems", b.min_items, c.min_items))
        if c.max_items is not None and (b.max_items is None or c.max_items < b.max_items):
            out.append(self._bound(path, "maxItems", b.max_items, c.max_items))
        if c.unique and not b.unique and (b.max_items is None or b.max_items > 1):
            out.append(self.change("unique", path, f"the {self.R} schema requires unique items", False, True))
        n = max(len(b.prefix), len(c.prefix))
        for i in range(n + 1):
            if b.max_items is not None and i >= b.max_items:
                break
            ws = b.prefix[i] if i < len(b.prefix) else b.items
            rs = c.prefix[i] if i < len(c.prefix) else c.items
            if is_false(ws, self.w):
                break
            seg: str | int = i if i < n else ITEM
            if is_false(rs, self.r):
                msg = (
                    f"the {self.R} schema allows no item at {render((*path, seg))}; the {self.W} schema does"
                )
                out.append(self.change("array_closed", (*path, seg), msg))
                break
            out += self.covers(combine(ws), combine(rs), (*path, seg))
        return out

    def _objects(self, b: Branch, c: Branch, path: Path) -> list[Change]:
        out: list[Change] = []
        renamed = self._renames(b, c)
        partners = set(renamed.values())
        names = list(dict.fromkeys([*b.props, *c.props, *sorted(b.required), *sorted(c.required)]))
        for p in names:
            ws, rs = b.props.get(p, b.extra), c.props.get(p, c.extra)
            at = (*path, p)
            if p in renamed:
                old, new = (renamed[p], p) if self.dir == "backward" else (p, renamed[p])
                out.append(
                    self.change("renamed", (*path, old), f"field '{old}' renamed to '{new}'", renamed[p], p)
                )
                continue
            if p in c.required and p not in b.required:
                if p in b.props:
                    msg = f"'{p}' is required by the {self.R} schema but optional in the {self.W} schema"
                    out.append(self.change("required_made", at, msg))
                else:
                    msg = f"'{p}' is required by the {self.R} schema; the {self.W} schema does not declare it"
                    out.append(self.change("required_new", at, msg))
            if is_false(ws, self.w) or p in partners:
                continue
            if is_false(rs, self.r):
                msg = f"'{p}' is allowed by the {self.W} schema; the {self.R} schema is closed and rejects it"
                out.append(self.change("closed_field", at, msg))
                continue
            sub = self.covers(combine(ws), combine(rs), at)
            if sub and p not in b.props and not b.extra:
                msg = f"'{p}' may hold any value in the {self.W} schema (an open object); the {self.R} schema constrains it"
                out.append(self.change("open_field", at, msg))
            else:
                out += sub
        if not is_false(b.extra, self.w):
            if is_false(c.extra, self.r):
                msg = f"the {self.R} schema rejects undeclared fields (additionalProperties: false); the {self.W} schema allows them"
                out.append(self.change("closed", path, msg, True, False))
            elif c.extra:
                out += self.covers(combine(b.extra), combine(c.extra), (*path, ANY))
        w_min = max(b.min_props, len(b.required))
        if c.min_props > w_min:
            out.append(self._bound(path, "minProperties", w_min, c.min_props))
        w_max = b.max_props
        if is_false(b.extra, self.w):
            w_max = len(b.props) if w_max is None else min(w_max, len(b.props))
        if c.max_props is not None and (w_max is None or c.max_props < w_max):
            out.append(self._bound(path, "maxProperties", w_max, c.max_props))
        return out

    def _renames(self, b: Branch, c: Branch) -> dict[str, str]:
        """Required fields of the reader that the writer lacks, each paired with
        a field only the writer has, of the same schema: a rename."""
        out: dict[str, str] = {}
        if not self.renames:
            return out
        spare = [q for q in b.props if q not in c.props]
        for p in sorted(c.required - b.required):
            if p in b.props or p not in c.props:
                continue
            for q in spare:
                if q not in out.values() and equivalent(
                    combine(b.props[q]), self.w, combine(c.props[p]), self.r
                ):
                    out[p] = q
                    break
        return out


def _nb(c: Branch) -> dict[str, Any]:
    return {"lo": c.lo, "lo_x": c.lo_x, "hi": c.hi, "hi_x": c.hi_x}


def _lo(b: Branch) -> str | None:
    return None if b.lo is None else f"{'>' if b.lo_x else '>='} {b.lo}"


def _hi(b: Branch) -> str | None:
    return None if b.hi is None else f"{'<' if b.hi_x else '<='} {b.hi}"


#: Values named in a message; the rest are counted (the change lists them all).
SHOWN_VALUES = 20


def _values_text(values: Any) -> str:
    vs = list(values)
    shown = ", ".join(json.dumps(v, default=str) for v in vs[:SHOWN_VALUES])
    return shown + (f" and {len(vs) - SHOWN_VALUES} more" if len(vs) > SHOWN_VALUES else "")


def _show(v: Any) -> str:
    return "none" if v is None else str(v)


def _divides(m: float, x: float) -> bool:
    """Whether ``x`` is a whole multiple of ``m``."""
    q = Fraction(str(x)) / Fraction(str(m))
    return q.denominator == 1


def _dedupe(changes: list[Change]) -> list[Change]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for ch in changes:
        k = (ch.kind, ch.path, ch.message)
        if k not in seen:
            seen.add(k)
            out.append(ch)
    return out
