"""`harness report HISTORY [--out FILE]`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main as harness_main
from harness.report.cli import main
from tests.report.conftest import FIXTURES


def test_report_beside_the_history_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(FIXTURES / "history-ok.jsonl", tmp_path / "history.jsonl")
    assert main([str(tmp_path / "history.jsonl")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "report.html").exists()
    assert str(tmp_path / "report.html") in out
    assert "findings" in out and "verdicts" in out  # the verdict table


def test_out_and_the_harness_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "deep" / "page.html"
    # a history with a violation: the report is written, and the exit status says so (as `harness check`)
    assert harness_main(["report", str(FIXTURES / "history-bad.jsonl"), "--out", str(target), "--quiet"]) == 1
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"index": 0, "process": "p", "type": "invoke", "f": "x"}\nnot json\n', ":2: not valid JSON"),
        ('{"index": 0, "process": "p", "type": "begun", "f": "x"}\n', "type must be one of"),
        ("[1, 2]\n", "expected a JSON object"),
    ],
)
def test_malformed_history_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = tmp_path / "history.jsonl"
    bad.write_text(content)
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness report: error: ") and message in err
    assert not (tmp_path / "report.html").exists()


def test_missing_file_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err
    assert main(["--help"]) == 0
