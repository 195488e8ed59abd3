"""A killed run's directory is read as a run: ``harness check RUN_DIR`` and
``harness report RUN_DIR`` merge its per-agent parts (a last line cut short
by the kill left out), and a directory holding no history is bad input."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from harness.checkers.cli_check import EXIT_BAD_INPUT, run_check
from harness.history.jsonl import iter_history
from harness.history.salvage import HISTORY, history_of, merge_parts
from harness.report import cli as report_cli


def _op(agent: str, i: int, kind: str, t: int) -> dict[str, object]:
    return {
        "agent": agent,
        "f": "sqs.SendMessage",
        "index": i,
        "process": agent,
        "service": "sqs",
        "time": t,
        "type": kind,
    }


def _killed_run(tmp_path: Path) -> Path:
    """Two agents' parts, as SIGKILL leaves them: one with its last line cut."""
    run = tmp_path / "run"
    (run / "parts").mkdir(parents=True)
    for n, agent in enumerate(("supervisor", "worker-1")):
        lines = []
        for i in range(3):
            t = 1000 * i + n * 10
            lines += [json.dumps(_op(agent, i, "invoke", t)), json.dumps(_op(agent, i, "ok", t + 5))]
        text = "\n".join(lines) + "\n"
        if agent == "worker-1":
            text += json.dumps(_op(agent, 9, "invoke", 9000))[:25]  # cut short by the kill
        (run / "parts" / f"history.{agent}.jsonl").write_text(text)
    return run


def _check(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check([str(path)], console=Console(file=out, width=200), err=Console(file=err, width=200))
    return code, out.getvalue(), err.getvalue()


def test_check_of_a_killed_run_merges_its_parts_in_time_order(tmp_path: Path) -> None:
    run = _killed_run(tmp_path)
    code, out, err = _check(run)
    assert code != EXIT_BAD_INPUT, err
    ops = list(iter_history(run / HISTORY))
    assert len(ops) == 12  # every whole line, not the cut one
    assert [op.time for op in ops] == sorted(op.time for op in ops)
    assert [op.index for op in ops] == list(range(12))
    assert "12 operations" in out


def test_report_of_a_killed_run_merges_and_writes_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _killed_run(tmp_path)
    code = report_cli.main([str(run), "--quiet"])
    assert code in (0, 1), capsys.readouterr().err
    assert (run / "report.html").is_file() and (run / HISTORY).is_file()


def test_a_merged_history_newer_than_its_parts_is_read_as_it_is(tmp_path: Path) -> None:
    run = _killed_run(tmp_path)
    merged = merge_parts(run)
    assert merged.operations == 12 and merged.cut_lines == 1
    before = (run / HISTORY).read_bytes()
    (run / HISTORY).write_bytes(before.splitlines(keepends=True)[0])  # what a finished run wrote
    later = max(p.stat().st_mtime for p in (run / "parts").iterdir()) + 10
    os.utime(run / HISTORY, (later, later))
    assert history_of(run) == run / HISTORY
    assert len(list(iter_history(run / HISTORY))) == 1  # not merged again


def test_a_part_newer_than_the_history_is_merged_again(tmp_path: Path) -> None:
    run = _killed_run(tmp_path)
    (run / HISTORY).write_text("")
    earlier = min(p.stat().st_mtime for p in (run / "parts").iterdir()) - 10
    os.utime(run / HISTORY, (earlier, earlier))
    assert len(list(iter_history(history_of(run)))) == 12


def test_a_directory_with_no_history_is_one_line_of_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _check(tmp_path)
    assert code == EXIT_BAD_INPUT and err.strip().count("\n") == 0 and "no history.jsonl" in err
    assert report_cli.main([str(tmp_path)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_a_broken_line_inside_a_part_is_bad_input_not_dropped(tmp_path: Path) -> None:
    run = _killed_run(tmp_path)
    part = run / "parts" / "history.supervisor.jsonl"
    lines = part.read_text().splitlines()
    lines[1] = "{not json"
    part.write_text("\n".join(lines) + "\n")
    code, _, err = _check(run)
    assert code == EXIT_BAD_INPUT and "history.supervisor.jsonl:2" in err
