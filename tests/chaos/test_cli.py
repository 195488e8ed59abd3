"""`harness chaos`: one-line errors with exit 2, verdicts from the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.chaos.cli import main


def test_a_missing_experiment_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the experiment" in err


def test_a_file_that_is_not_an_experiment_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.json").write_text('{"title": "no method"}')
    assert main(["run", str(tmp_path / "x.json")]) == 2
    assert "not a Chaos Toolkit experiment" in capsys.readouterr().err


def test_an_unknown_backend_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", "chaos/worker-crash.json", "--backend", "nowhere"])
    assert e.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_judge_reads_an_earlier_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = {
        "status": "completed",
        "deviated": False,
        "steady_states": {
            "before": {
                "steady_state_met": False,
                "probes": [
                    {
                        "activity": {"name": "in-flight", "tolerance": 0},
                        "status": "succeeded",
                        "output": 2,
                        "tolerance_met": False,
                    }
                ],
            },
            "after": None,
        },
        "run": [],
        "rollbacks": [],
    }
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(journal))
    assert main(["judge", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL: the steady state did not hold before the method" in out and "got 2, expected 0" in out
    assert main(["judge", str(tmp_path / "missing.json")]) == 2


def test_list_names_every_shipped_experiment_with_its_title(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.chaos.experiments import HERE

    assert main(["list", "--paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    files = sorted(HERE.glob("*.json"))
    assert len(lines) == len(files) == 7
    for line, f in zip(lines, files, strict=True):
        title = json.loads(f.read_text())["title"]
        assert line.startswith(f.stem) and title in line and str(f) in line


def test_a_shipped_experiment_is_named_without_its_path() -> None:
    from harness.chaos.cli import _experiment_path
    from harness.chaos.experiments import HERE

    assert _experiment_path(Path("worker-crash")) == HERE / "worker-crash.json"
    assert _experiment_path(Path("elsewhere/worker-crash")) == Path("elsewhere/worker-crash")


def test_an_unknown_name_lists_the_shipped_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "meteor-strike"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no shipped experiment" in err and "worker-crash" in err
