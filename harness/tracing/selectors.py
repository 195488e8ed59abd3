"""A small selector and assertion language over spans, in the spirit of Tracetest.

Selectors pick spans::

    span[name="send mas-research"]
    span[messaging.system="aws_sqs" messaging.operation.type="send"]
    span[harness.agent startsWith "research"] span[gen_ai.operation.name="chat"]
    span[name contains "receive"]:first

Inside brackets, conditions are ``FIELD OP VALUE`` separated by spaces, all of
which must hold. Two selectors separated by a space pick spans of the second
kind that descend from a span of the first. ``:first``, ``:last`` and
``:nth_child(N)`` (1-based) pick by start time.

Assertions check the selected spans::

    attr:messaging.system = "aws_sqs"          every selected span
    attr:tracetest.span.duration < 500ms       every selected span
    attr:tracetest.selected_spans.count = 3    the selection as a whole

FIELD is an attribute name (``attr:`` prefix optional), or one of ``name``,
``kind``, ``status``, ``duration``, ``trace_id``, ``span_id``, ``parent_id``,
``service.name`` (``tracetest.span.name``/``.type``/``.duration`` are aliases).
OP is one of ``= != < <= > >= contains startsWith endsWith``. VALUE is a
quoted string, a number, ``true``/``false``, or a duration (``ns us ms s m``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

COUNT = "tracetest.selected_spans.count"
_ALIASES = {
    "tracetest.span.name": "name",
    "tracetest.span.duration": "duration",
    "tracetest.span.type": "kind",
    "selected_spans.count": COUNT,
    "count": COUNT,
}
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000}
_OPS = ("!=", "<=", ">=", "=", "<", ">", "contains", "startsWith", "endsWith")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<op>!=|<=|>=|=|<|>|\bcontains\b|\bstartsWith\b|\bendsWith\b)
      | (?P<word>[^\s"=<>!]+)
    )""",
    re.VERBOSE,
)


class SelectorError(ValueError):
    """A selector or assertion that does not parse."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any

    def holds(self, actual: Any) -> bool:
        return compare(actual, self.op, self.value)

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


def field_of(span: ReadableSpan, name: str) -> Any:
    """The value of ``name`` on ``span`` (None if it has none)."""
    name = _ALIASES.get(name.removeprefix("attr:"), name.removeprefix("attr:"))
    if name == "name":
        return span.name
    if name == "kind":
        return span.kind.name.lower()
    if name == "status":
        return span.status.status_code.name.lower()
    if name == "duration":
        return (span.end_time or 0) - (span.start_time or 0)
    if name == "trace_id":
        return f"{span.context.trace_id:032x}"
    if name == "span_id":
        return f"{span.context.span_id:016x}"
    if name == "parent_id":
        return f"{span.parent.span_id:016x}" if span.parent is not None else None
    if name == "service.name":
        return span.resource.attributes.get("service.name")
    value = (span.attributes or {}).get(name)
    return list(value) if isinstance(value, tuple) else value


def compare(actual: Any, op: str, expected: Any) -> bool:
    if op in ("contains", "startsWith", "endsWith"):
        if isinstance(actual, list):
            return op == "contains" and expected in actual
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        return {
            "contains": expected in actual,
            "startsWith": actual.startswith(expected),
            "endsWith": actual.endswith(expected),
        }[op]
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if actual is None or isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return {
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }[op]


def parse_value(text: str) -> Any:
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if text in ("true", "false"):
        return text == "true"
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m)?", text)
    if m is None:
        return text  # a bare word: compared as a string
    number = float(m.group(1))
    if m.group(2):
        return int(number * _UNITS[m.group(2)])
    return int(number) if number.is_integer() and "." not in m.group(1) else number


def parse_conditions(text: str) -> list[Condition]:
    """``FIELD OP VALUE FIELD OP VALUE ...``"""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if not text[pos:].strip():
                break
            raise SelectorError(f"cannot parse {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup or "word"
        tokens.append((kind, m.group(kind)))
    if len(tokens) % 3:
        raise SelectorError(f"expected FIELD OP VALUE triples in {text!r}")
    out = []
    for i in range(0, len(tokens), 3):
        (k1, field), (k2, op), (_, value) = tokens[i : i + 3]
        if k1 != "word" or k2 != "op":
            raise SelectorError(f"expected FIELD OP VALUE, got {field} {op} {value} in {text!r}")
        out.append(Condition(field, op, parse_value(value)))
    return out


@dataclass(frozen=True, slots=True)
class Step:
    conditions: tuple[Condition, ...]
    pseudo: tuple[str, int] | None = None  # ("first"|"last"|"nth", n)

    def matches(self, span: ReadableSpan) -> bool:
        return all(c.holds(field_of(span, c.field)) for c in self.conditions)


_STEP = re.compile(
    r'span(?:\[(?P<conds>(?:[^\]"]|"(?:[^"\\]|\\.)*")*)\])?(?P<pseudo>:first|:last|:nth_child\(\d+\))?'
)


def parse_selector(selector: str) -> list[Step]:
    """A selector as its steps (ancestor first)."""
    steps: list[Step] = []
    pos, text = 0, selector.strip()
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        m = _STEP.match(text, pos)
        if m is None or m.end() == pos:
            raise SelectorError(f"cannot parse selector at {text[pos:]!r} (expected span[...])")
        pseudo = None
        if m.group("pseudo"):
            p = m.group("pseudo")
            pseudo = (
                ("first", 1) if p == ":first" else ("last", -1) if p == ":last" else ("nth", int(p[11:-1]))
            )
        steps.append(Step(tuple(parse_conditions(m.group("conds") or "")), pseudo))
        pos = m.end()
    if not steps:
        raise SelectorError("an empty selector")
    return steps


def _pick(spans: list[ReadableSpan], pseudo: tuple[str, int] | None) -> list[ReadableSpan]:
    if pseudo is None or not spans:
        return spans
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    kind, n = pseudo
    if kind == "first":
        return ordered[:1]
    if kind == "last":
        return ordered[-1:]
    return ordered[n - 1 : n] if 1 <= n <= len(ordered) else []


def select(spans: Sequence[ReadableSpan], selector: str) -> list[ReadableSpan]:
    """The spans that ``selector`` picks from ``spans``."""
    steps = parse_selector(selector)
    by_id = {(s.context.trace_id, s.context.span_id): s for s in spans}

    def ancestors(span: ReadableSpan) -> list[ReadableSpan]:
        out = []
        seen = set()
        p = span.parent
        while p is not None and (p.trace_id, p.span_id) in by_id and (p.trace_id, p.span_id) not in seen:
            seen.add((p.trace_id, p.span_id))
            s = by_id[(p.trace_id, p.span_id)]
            out.append(s)
            p = s.parent
        return out

    current = _pick([s for s in spans if steps[0].matches(s)], steps[0].pseudo)
    for step in steps[1:]:
        chosen = {(s.context.trace_id, s.context.span_id) for s in current}
        below = [
            s
            for s in spans
            if step.matches(s)
            and any((a.context.trace_id, a.context.span_id) in chosen for a in ancestors(s))
        ]
        current = _pick(below, step.pseudo)
    return current


@dataclass(frozen=True, slots=True)
class Assertion:
    field: str
    op: str
    value: Any
    text: str

    @property
    def on_selection(self) -> bool:
        return _ALIASES.get(self.field.removeprefix("attr:"), self.field.removeprefix("attr:")) == COUNT


def parse_assertion(text: str) -> Assertion:
    conds = parse_conditions(text)
    if len(conds) != 1:
        raise SelectorError(f"an assertion is one FIELD OP VALUE, got {text!r}")
    c = conds[0]
    return Assertion(c.field, c.op, c.value, text.strip())


def check_assertion(spans: Sequence[ReadableSpan], text: str) -> list[str]:
    """Failures of one assertion over a selection (empty: it holds)."""
    a = parse_assertion(text)
    if a.on_selection:
        return [] if compare(len(spans), a.op, a.value) else [f"{a.text}: selected {len(spans)} span(s)"]
    failures = []
    for s in spans:
        actual = field_of(s, a.field)
        if not compare(actual, a.op, a.value):
            failures.append(f"{a.text}: span {s.name!r} ({s.context.span_id:016x}) has {actual!r}")
    return failures


Predicate = Callable[[ReadableSpan], bool]

__all__ = [
    "Assertion",
    "Condition",
    "SelectorError",
    "check_assertion",
    "compare",
    "field_of",
    "parse_assertion",
    "parse_selector",
    "select",
]
