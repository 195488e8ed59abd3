"""``harness contracts diff OLD NEW [--mode MODE]``: exit codes, output, and
bad input (a one-line error, exit 2, never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.contracts.cli import main

V1 = {
    "x-message-type": "order",
    "x-message-version": 1,
    "type": "object",
    "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
    "required": ["id"],
    "additionalProperties": False,
}
# v2 adds an optional field (backward compatible with v1)
V2 = {**V1, "x-message-version": 2, "properties": {**V1["properties"], "note": {"type": "string"}}}


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compatible_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(write(tmp_path / "a.json", V1)), str(write(tmp_path / "b.json", V2)))
    assert code == 0 and "BACKWARD: compatible" in out


def test_incompatible_exits_1_and_lists_each_change_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = {
        **V1,
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 5}},
        "required": ["id", "qty"],
    }
    code, out, _ = run(
        capsys, str(write(tmp_path / "a.json", V1)), str(write(tmp_path / "b.json", new)), "--json"
    )
    assert code == 1
    result = json.loads(out)
    assert result["compatible"] is False and result["mode"] == "BACKWARD"
    got = {(c["kind"], c["path"]) for c in result["comparisons"][0]["changes"]}
    assert got == {("bound_tightened", "$.qty"), ("field_made_required", "$.qty")}


def test_table_output_names_kind_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = {
        **V1,
        "additionalProperties": False,
        "properties": {"id": {"type": "integer"}, "qty": V1["properties"]["qty"]},
    }
    code, out, _ = run(capsys, str(write(tmp_path / "a.json", V1)), str(write(tmp_path / "b.json", new)))
    assert code == 1
    assert "type_narrowed" in out and "$.id" in out and "INCOMPATIBLE: 1 breaking change" in out


@pytest.mark.parametrize(
    ("mode", "code"),
    [("BACKWARD", 0), ("FORWARD", 1), ("FULL", 1), ("NONE", 0), ("DISABLED", 1), ("backward", 0)],
)
def test_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, code: int) -> None:
    # v1 -> v2 adds an optional field to a closed object: old readers reject new data.
    got, out, _ = run(
        capsys, str(write(tmp_path / "a.json", V1)), str(write(tmp_path / "b.json", V2)), "--mode", mode
    )
    assert got == code, out


def test_all_modes_compare_with_every_earlier_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "order"
    d.mkdir()
    write(d / "order.v1.json", V1)
    write(d / "order.v2.json", V2)
    v3 = {
        **V2,
        "x-message-version": 3,
        "properties": {
            **V2["properties"],
            "qty": {"type": "integer", "minimum": 0},
            "note": {"type": "string", "maxLength": 10},
        },
    }
    new = write(d / "order.v3.json", v3)
    # v3 loosens qty (fine) but bounds note: v2 data may carry a long note; v1 data has no note.
    code, out, _ = run(capsys, str(d), str(new), "--mode", "BACKWARD_ALL", "--json")
    result = json.loads(out)
    assert code == 1
    assert [c["against"] for c in result["comparisons"]] == [
        str(d / "order.v1.json"),
        str(d / "order.v2.json"),
    ]
    assert result["comparisons"][0]["changes"] == []
    assert [(c["kind"], c["path"]) for c in result["comparisons"][1]["changes"]] == [
        ("bound_tightened", "$.note")
    ]
    # BACKWARD with a directory compares with the last earlier version only (v2).
    code, out, _ = run(capsys, str(d), str(new), "--mode", "BACKWARD", "--json")
    assert code == 1 and len(json.loads(out)["comparisons"]) == 1
    # FORWARD_ALL: v1 and v2 readers both reject v3 data? v1 is closed: a note is rejected.
    code, out, _ = run(capsys, str(d), str(new), "--mode", "FORWARD_ALL", "--json")
    kinds = [[c["kind"] for c in cmp["changes"]] for cmp in json.loads(out)["comparisons"]]
    assert code == 1 and kinds == [["bound_loosened", "field_added_to_closed_object"], ["bound_loosened"]]


def test_all_mode_accepts_a_history_that_only_grows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "v"
    d.mkdir()
    write(d / "order.v1.json", V1)
    write(d / "order.v2.json", V2)
    v3 = {**V2, "x-message-version": 3, "properties": {**V2["properties"], "tag": {"type": "string"}}}
    code, out, _ = run(capsys, str(d), str(write(tmp_path / "order.v3.json", v3)), "--mode", "BACKWARD_ALL")
    assert code == 0 and "compatible with 2 earlier version(s)" in out


BAD = {
    "missing file": (None, "no such file"),
    "not JSON": ("{not json", "not JSON"),
    "not a schema": ({"type": 5}, "not a valid JSON Schema"),
    "external ref": ({"$ref": "https://example.com/s.json"}, "external $ref"),
    "dangling ref": ({"$ref": "#/$defs/Nope"}, "unresolvable $ref"),
    "array document": ([1, 2], "must be an object or a boolean"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    content, needle = BAD[case]
    bad = tmp_path / "bad.json"
    if content is not None:
        write(bad, content)
    good = write(tmp_path / "good.json", V1)
    for argv in ([str(bad), str(good)], [str(good), str(bad)]):
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert needle in err and err.count("\n") == 1 and "Traceback" not in err + out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["{missing}", "{good}", "--mode", "BACKWARD_ALL"], "no such file or directory"),
        (["{empty}", "{good}", "--mode", "FULL_ALL"], "no earlier version"),
        (["{good}", "{empty}"], "must be a schema file"),
        (["{good}", "{good}", "--mode", "SIDEWAYS"], "invalid choice"),
        (["{good}"], "required"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    (tmp_path / "empty").mkdir()
    paths = {
        "missing": str(tmp_path / "nope"),
        "empty": str(tmp_path / "empty"),
        "good": str(write(tmp_path / "g.json", V1)),
    }
    code, out, err = run(capsys, *[a.format(**paths) for a in argv])
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{")
    code, _, err = run(capsys, str(bad), str(write(tmp_path / "g.json", V1)))
    assert code == 2 and "cannot read" in err and err.count("\n") == 1


def test_through_the_harness_command(tmp_path: Path) -> None:
    a, b = write(tmp_path / "a.json", V1), write(tmp_path / "b.json", {**V1, "required": ["id", "qty"]})
    p = subprocess.run(
        [sys.executable, "-m", "harness.cli", "contracts", "diff", str(a), str(b)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1 and "field_made_required" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "harness.cli", "contracts", "diff", str(a), str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
