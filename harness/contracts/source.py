"""Where contracts are declared: pydantic models, the payload links between
them, the roles a worker can fill and the consumers' declarations.

``harness contracts`` reads them from a *source*: an object named by
``pkg.module:NAME`` (a :class:`Source` or a function returning one). The
default is the reference system's.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from harness.contracts.consumers import Consumer
from harness.contracts.errors import ContractError

DEFAULT_SOURCE = "reference_system.contracts:source"


@dataclass(frozen=True)
class Link:
    """A field of a message whose content has a contract of its own, named by a
    template over the message's fields (``"{capability}_output"``), checked
    only when the message's fields match ``when``."""

    contract: str
    when: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"contract": self.contract, "when": dict(self.when)}


@dataclass(frozen=True)
class Role:
    """A worker role: the contracts of what it consumes and what it produces,
    and the implementation in service now."""

    name: str
    input: str
    output: str
    incumbent: str
    #: input field -> (capability whose output it is, the key it has there; None: the whole output)
    upstream: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    def context(self, inputs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """The upstream outputs (capability, output) that ``inputs`` were built from."""
        out = []
        for name, (cap, key) in self.upstream.items():
            if name in inputs:
                out.append((cap, inputs[name] if key is None else {key: inputs[name]}))
        return out


@dataclass(frozen=True)
class Source:
    models: Mapping[str, type[BaseModel]]
    links: Mapping[str, Mapping[str, Link]] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    consumers: Sequence[Consumer] = ()


def version_of(model: type[BaseModel]) -> int:
    return int(getattr(model, "message_version", 1))


def load_source(spec: str | None = None) -> Source:
    spec = spec or DEFAULT_SOURCE
    mod_name, _, attr = spec.partition(":")
    if not attr:
        raise ContractError(f"source {spec!r} must look like pkg.module:NAME")
    try:
        obj = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as e:
        raise ContractError(f"cannot load source {spec!r}: {e}") from None
    src = obj() if callable(obj) and not isinstance(obj, Source) else obj
    if not isinstance(src, Source):
        raise ContractError(f"source {spec!r} is not a harness.contracts.Source")
    return src
