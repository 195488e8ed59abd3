"""The contract registry: a directory (``contracts/``) holding one JSON Schema
(draft 2020-12) per message type and version, ``NAME.vN.json``, generated
from the pydantic models, and each consumer's declaration,
``consumers/AGENT.json``.

Each schema names its message type and version (``x-message-type``,
``x-message-version``); a message carries both in its attributes. An
envelope whose fields hold payloads with contracts of their own says so in
``x-payloads``. Earlier versions stay in the directory: they are what the
``_ALL`` compatibility modes compare against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from harness.contracts.consumers import Consumer, dump_consumers, load_consumers
from harness.contracts.errors import ContractError
from harness.contracts.modes import FILE_RE
from harness.contracts.schema import Doc
from harness.contracts.source import Link, Source, version_of

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_DIR = Path("contracts")
CONSUMERS_DIR = "consumers"


def filename(name: str, version: int) -> str:
    return f"{name}.v{version}.json"


def contract_schema(
    model: type[BaseModel],
    name: str | None = None,
    version: int | None = None,
    links: dict[str, Link] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of ``model``, named and versioned."""
    name = name or getattr(model, "message_type", model.__name__)
    version = version if version is not None else version_of(model)
    out: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:mas-harness:contract:{name}:v{version}",
        "x-message-type": name,
        "x-message-version": version,
        **model.model_json_schema(),
    }
    if links:
        out["x-payloads"] = {k: v.to_json() for k, v in links.items()}
    return out


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(source: Source) -> dict[str, str]:
    """Every file the source generates: relative path -> text."""
    out = {}
    for name, model in source.models.items():
        version = version_of(model)
        out[filename(name, version)] = dumps(
            contract_schema(model, name, version, dict(source.links.get(name, {})))
        )
    for agent in dict.fromkeys(c.agent for c in source.consumers):
        out[f"{CONSUMERS_DIR}/{agent}.json"] = dumps(dump_consumers(agent, source.consumers))
    return out


def export(source: Source, directory: Path) -> list[tuple[str, str]]:
    """Write the generated files; returns (relative path, written|unchanged)."""
    result = []
    for rel, text in render(source).items():
        path = directory / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            result.append((rel, "unchanged"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.append((rel, "written"))
    return result


def drift(source: Source, directory: Path) -> list[str]:
    """The generated files that are missing or differ on disk (one line each)."""
    out = []
    for rel, text in render(source).items():
        path = directory / rel
        if not path.is_file():
            out.append(f"{rel}: missing")
        elif path.read_text(encoding="utf-8") != text:
            out.append(f"{rel}: differs from its model (run `harness contracts export`)")
    return out


class Registry:
    """The contracts in a directory, loaded and checked."""

    def __init__(
        self, schemas: dict[str, dict[int, Any]], consumers: list[Consumer], directory: Path | None = None
    ):
        self.directory = directory
        self._schemas = schemas
        self.consumers = consumers
        self._docs: dict[tuple[str, int], Doc] = {}
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_DIR) -> Registry:
        d = Path(directory)
        if not d.is_dir():
            raise ContractError(f"{d}: no such contracts directory")
        schemas: dict[str, dict[int, Any]] = {}
        for path in sorted(d.glob("*.json")):
            m = FILE_RE.match(path.name)
            if not m:
                continue
            doc = Doc.load(path)
            schemas.setdefault(m.group("name"), {})[int(m.group("version"))] = doc.root
        consumers: list[Consumer] = []
        for path in sorted((d / CONSUMERS_DIR).glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ContractError(f"{path}: cannot read: {e}") from None
            consumers += load_consumers(data, str(path))
        return cls(schemas, consumers, d)

    @classmethod
    def from_source(cls, source: Source) -> Registry:
        """The registry a source would export, without touching the disk."""
        schemas: dict[str, dict[int, Any]] = {}
        for name, model in source.models.items():
            v = version_of(model)
            schemas.setdefault(name, {})[v] = contract_schema(
                model, name, v, dict(source.links.get(name, {}))
            )
        return cls(schemas, list(source.consumers))

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def versions(self, name: str) -> list[int]:
        return sorted(self._schemas.get(name, {}))

    def has(self, name: str, version: int | None = None) -> bool:
        vs = self._schemas.get(name, {})
        return bool(vs) if version is None else version in vs

    def latest(self, name: str) -> int:
        vs = self.versions(name)
        if not vs:
            raise ContractError(f"no contract named {name!r} in the registry")
        return vs[-1]

    def schema(self, name: str, version: int | None = None) -> Any:
        v = self.latest(name) if version is None else version
        try:
            return self._schemas[name][v]
        except KeyError:
            raise ContractError(f"no contract {filename(name, v)} in the registry") from None

    def doc(self, name: str, version: int | None = None) -> Doc:
        v = self.latest(name) if version is None else version
        key = (name, v)
        if key not in self._docs:
            self._docs[key] = Doc(self.schema(name, v), filename(name, v))
        return self._docs[key]

    def errors(self, name: str, version: int | None, instance: Any) -> list[str]:
        """Why ``instance`` violates the contract (empty: it does not)."""
        v = self.latest(name) if version is None else version
        key = (name, v)
        val = self._validators.get(key)
        if val is None:
            val = self._validators[key] = Draft202012Validator(self.schema(name, v))
        return validation_errors(val, instance)

    def links(self, name: str, version: int | None = None) -> dict[str, Link]:
        raw = self.schema(name, version).get("x-payloads", {}) if self.has(name) else {}
        return {k: Link(v["contract"], v.get("when", {})) for k, v in raw.items()}

    def consumers_of(self, name: str) -> list[Consumer]:
        return [c for c in self.consumers if c.message == name]


def validation_errors(validator: Any, instance: Any, limit: int = 20) -> list[str]:
    errs = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    out = [f"{e.json_path}: {_short(e.message)}" for e in errs[:limit]]
    if len(errs) > limit:
        out.append(f"... and {len(errs) - limit} more")
    return out


def _short(s: str, n: int = 160) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def plain_schema(schema: Any) -> Any:
    """The schema without the registry's extension keywords and id."""
    if isinstance(schema, dict):
        return {k: plain_schema(v) for k, v in schema.items() if not k.startswith("x-") and k != "$id"}
    if isinstance(schema, list):
        return [plain_schema(v) for v in schema]
    return schema
