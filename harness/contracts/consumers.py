"""Consumer-driven contracts: each consuming agent declares the fields it
reads from each message it consumes, as a Pact consumer would, with
``contracts/consumers/`` as the broker.

A declaration maps field paths to JSON types::

    Consumer("write-worker", "research_output", {
        "facts[*].text": "string",
        "facts[*].value?": ["number", "null"],   # ? : may be absent
    })

It compiles to the weakest JSON Schema that gives the consumer what it reads
(open objects, only the read fields required), so "a provider still satisfies
its consumer" is the same question as "the consumer's schema accepts every
instance of the provider's" and has the same diff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.contracts.compat import Change, breaking_changes
from harness.contracts.errors import ContractError
from harness.contracts.schema import Doc

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_SEG = re.compile(r"^(?P<name>[^\[\]?]*)(?P<opt>\??)(?P<stars>(\[\*\])*)$")


@dataclass(frozen=True)
class Consumer:
    """``agent`` reads ``reads`` (path -> type or types) from message ``message``."""

    agent: str
    message: str
    reads: Mapping[str, str | Sequence[str]]

    def schema(self) -> dict[str, Any]:
        return compile_reads(self.reads, f"consumer {self.agent} of {self.message}")

    def to_json(self) -> dict[str, Any]:
        reads = {k: v if isinstance(v, str) else list(v) for k, v in self.reads.items()}
        return {"message": self.message, "reads": reads}


@dataclass
class _Node:
    types: set[str] | None = None
    props: dict[str, _Node] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    items: _Node | None = None


def compile_reads(reads: Mapping[str, str | Sequence[str]], what: str = "consumer") -> dict[str, Any]:
    """The JSON Schema a consumer needs its input to satisfy."""
    root = _Node()
    for path, types in reads.items():
        node = root
        for seg in path.split("."):
            m = _SEG.match(seg)
            if not m or not m.group("name"):
                raise ContractError(f"{what}: bad field path {path!r}")
            name = m.group("name")
            node = _child(node, name, optional=bool(m.group("opt")))
            for _ in range(len(m.group("stars")) // 3):
                node.items = node.items or _Node()
                node = node.items
        ts = set(_types(types))
        bad = ts - {*JSON_TYPES, "any"}
        if bad:
            raise ContractError(f"{what}: {path!r} has unknown type(s) {', '.join(sorted(bad))}")
        if "any" not in ts:
            node.types = ts if node.types is None else node.types & ts
    schema = _emit(root, what, "$")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _child(node: _Node, name: str, optional: bool) -> _Node:
    child = node.props.setdefault(name, _Node())
    if not optional:
        node.required.add(name)
    return child


def _emit(node: _Node, what: str, at: str) -> dict[str, Any]:
    implied = "object" if node.props else "array" if node.items else None
    types = node.types
    if implied is not None:
        if types is not None and implied not in types:
            raise ContractError(f"{what}: {at} is read as {implied} but declared {'|'.join(sorted(types))}")
        types = {implied}
    out: dict[str, Any] = {}
    if types is not None:
        ordered = [t for t in JSON_TYPES if t in types]
        out["type"] = ordered[0] if len(ordered) == 1 else ordered
    if node.props:
        out["properties"] = {k: _emit(v, what, f"{at}.{k}") for k, v in node.props.items()}
        if node.required:
            out["required"] = sorted(node.required)
    if node.items is not None:
        out["items"] = _emit(node.items, what, f"{at}[*]")
    return out


def _types(v: str | Sequence[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def check_consumer(provider: Doc, consumer: Consumer) -> list[Change]:
    """What in the provider's contract can break this consumer (empty: nothing)."""
    need = Doc(consumer.schema(), f"consumer {consumer.agent}")
    labels = ("provider's", f"{consumer.agent}'s")
    return breaking_changes(provider, need, "forward", labels=labels, renames=False)


def load_consumers(data: Mapping[str, Any], name: str) -> list[Consumer]:
    """Declarations from a ``contracts/consumers/AGENT.json`` document."""
    try:
        agent = data["consumer"]
        reads = data["reads"]
        out = [Consumer(agent, r["message"], dict(r["reads"])) for r in reads]
    except (KeyError, TypeError) as e:
        raise ContractError(f"{name}: not a consumer declaration ({type(e).__name__}: {e})") from None
    for c in out:
        c.schema()  # reject a bad declaration now
    return out


def dump_consumers(agent: str, consumers: Sequence[Consumer]) -> dict[str, Any]:
    return {"consumer": agent, "reads": [c.to_json() for c in consumers if c.agent == agent]}
