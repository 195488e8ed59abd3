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
