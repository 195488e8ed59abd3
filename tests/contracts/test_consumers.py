"""Consumer-driven contracts: declarations, what they compile to, and the
check of a provider against its consumers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness.contracts.cli import main
from harness.contracts.consumers import Consumer, check_consumer, compile_reads
from harness.contracts.errors import ContractError
from harness.contracts.registry import Registry
from harness.contracts.schema import Doc
from tests.contracts.conftest import CONTRACTS

WRITER = Consumer(
    "write-worker", "research_output", {"facts[*].text": "string", "facts[*].value?": ["number", "null"]}
)


def test_reads_compile_to_the_weakest_schema_that_serves_the_consumer() -> None:
    s = compile_reads({"facts[*].text": "string", "facts[*].value?": ["number", "null"], "note?": "any"})
    v = Draft202012Validator(s)
    assert v.is_valid({"facts": [{"text": "a", "extra": 1}], "other": True})
    assert v.is_valid({"facts": [{"text": "a", "value": None}]})
    assert not v.is_valid({"facts": [{"value": 1}]})  # text is read
    assert not v.is_valid({"facts": [{"text": "a", "value": "x"}]})
    assert not v.is_valid({})


@pytest.mark.parametrize(
    ("reads", "message"),
    [
        ({"a..b": "string"}, "bad field path"),
        ({"a": "text"}, "unknown type"),
        ({"a": "string", "a.b": "string"}, "read as object but declared string"),
        ({"a[*]": "string", "a": "object"}, "read as array"),
    ],
)
def test_bad_declarations_are_rejected(reads: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        compile_reads(reads)


def test_every_registered_consumer_is_satisfied(registry: Registry) -> None:
    assert registry.consumers
    for c in registry.consumers:
        assert check_consumer(registry.doc(c.message), c) == [], c
    assert main(["consumers", "--dir", str(CONTRACTS)]) == 0


def _provider(registry: Registry, edit: Any) -> Doc:
    s = copy.deepcopy(registry.schema("research_output"))
    edit(s)
    return Doc(s)


def test_a_provider_that_drops_a_read_field_breaks_its_consumer(registry: Registry) -> None:
    doc = _provider(
        registry,
        lambda s: (
            s["$defs"]["Fact"]["properties"].pop("text"),
            s["$defs"]["Fact"]["required"].remove("text"),
        ),
    )
    assert [(c.kind, c.path) for c in check_consumer(doc, WRITER)] == [
        ("required_field_removed", "$.facts[*].text")
    ]


def test_a_provider_that_changes_a_read_type_breaks_its_consumer(registry: Registry) -> None:
    doc = _provider(registry, lambda s: s["$defs"]["Fact"]["properties"].update(value={"type": "string"}))
    assert [(c.kind, c.path) for c in check_consumer(doc, WRITER)] == [("type_widened", "$.facts[*].value")]


def test_a_provider_may_change_what_no_consumer_reads(registry: Registry) -> None:
    doc = _provider(
        registry, lambda s: s["$defs"]["Fact"]["properties"].update(source_id={"type": "integer"})
    )
    assert check_consumer(doc, WRITER) == []


def test_optional_reads_tolerate_a_missing_field(registry: Registry) -> None:
    doc = _provider(registry, lambda s: s["$defs"]["Fact"]["properties"].pop("value"))
    assert check_consumer(doc, WRITER) == []


def test_consumers_command_reports_a_broken_consumer(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shutil

    d = tmp_path / "c"
    shutil.copytree(CONTRACTS, d)
    p = d / "progress.v1.json"
    s = json.loads(p.read_text())
    s["properties"]["event"] = {"type": "integer"}
    p.write_text(json.dumps(s))
    assert main(["consumers", "--dir", str(d)]) == 1
    out = capsys.readouterr().out
    assert "breaks supervisor" in out and "$.event" in out
    (d / "consumers" / "bad.json").write_text(
        '{"consumer": "x", "reads": [{"message": "nope", "reads": {}}]}'
    )
    assert main(["consumers", "--dir", str(d)]) == 2
