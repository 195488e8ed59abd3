"""The registry: generated from the models, and a test fails when a file drifts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.contracts.cli import main
from harness.contracts.errors import ContractError
from harness.contracts.registry import Registry, drift, export, render
from harness.contracts.schema import Doc
from harness.contracts.source import load_source
from reference_system.messages import MESSAGE_TYPES
from reference_system.outputs import PAYLOAD_TYPES
from tests.contracts.conftest import CONTRACTS


def test_contracts_directory_matches_the_models() -> None:
    assert drift(load_source(), CONTRACTS) == [], "run `harness contracts export`"


def test_every_message_type_has_a_named_versioned_draft_2020_12_schema(registry: Registry) -> None:
    for name, model in {**MESSAGE_TYPES, **PAYLOAD_TYPES}.items():
        schema = registry.schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["x-message-type"] == name
        assert schema["x-message-version"] == model.message_version == registry.latest(name)
        assert (CONTRACTS / f"{name}.v{model.message_version}.json").is_file()
        Doc(schema)  # a valid JSON Schema


def test_envelopes_declare_where_payload_contracts_apply(registry: Registry) -> None:
    assert registry.links("result")["output"].contract == "{capability}_output"
    assert registry.links("result")["output"].when == {"status": "ok"}
    assert registry.links("subtask")["inputs"].contract == "{capability}_input"
    assert registry.links("progress") == {}


def test_a_hand_edited_file_is_drift(tmp_path: Path) -> None:
    d = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, d)
    p = d / "subtask.v1.json"
    doc = json.loads(p.read_text())
    doc["properties"]["topic"]["maxLength"] = 10
    p.write_text(json.dumps(doc))
    (d / "result.v1.json").unlink()
    assert drift(load_source(), d) == [
        "subtask.v1.json: differs from its model (run `harness contracts export`)",
        "result.v1.json: missing",
    ]
    assert main(["export", "--dir", str(d), "--check"]) == 1
    written = dict(export(load_source(), d))
    assert written["subtask.v1.json"] == written["result.v1.json"] == "written"
    assert written["status.v1.json"] == "unchanged"
    assert drift(load_source(), d) == []
    assert main(["export", "--dir", str(d), "--check"]) == 0


def test_export_keeps_earlier_versions(tmp_path: Path) -> None:
    d = tmp_path / "c"
    export(load_source(), d)
    (d / "subtask.v0.json").write_text(render(load_source())["subtask.v1.json"])
    export(load_source(), d)
    assert (d / "subtask.v0.json").exists()
    assert Registry.load(d).versions("subtask") == [0, 1]


def test_registry_from_source_equals_the_files(registry: Registry) -> None:
    mem = Registry.from_source(load_source())
    assert mem.names() == registry.names()
    for n in mem.names():
        assert mem.schema(n) == registry.schema(n)


def test_validation_errors_name_the_path(registry: Registry) -> None:
    errs = registry.errors(
        "research_output", None, {"facts": [{"source_id": "s", "text": "t", "value": "high"}]}
    )
    assert errs == ["$.facts[0].value: 'high' is not valid under any of the given schemas"]
    assert registry.errors("research_output", 1, {"facts": [{"source_id": "s", "text": "t"}]}) == []
    # an empty answer is no answer: a worker does not pass it on
    assert registry.errors("research_output", 1, {"facts": []}) == ["$.facts: [] should be non-empty"]


def test_bad_registry(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no such contracts directory"):
        Registry.load(tmp_path / "nope")
    (tmp_path / "x.v1.json").write_text('{"type": 12}')
    with pytest.raises(ContractError, match="not a valid JSON Schema"):
        Registry.load(tmp_path)
    with pytest.raises(ContractError, match="no contract named"):
        Registry.from_source(load_source()).latest("nope")
