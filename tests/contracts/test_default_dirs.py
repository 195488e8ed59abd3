"""``harness contracts`` finds a system's registry and golden inputs where the
system declares them (package data), from any directory: no checkout needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.contracts.cli import main
from harness.contracts.gate import GateConfig, run_gate
from harness.system import load_system

REFERENCE = load_system(None)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no contracts/ and no fixtures/ here
    return tmp_path


def test_the_reference_kit_declares_its_packaged_directories() -> None:
    kit = REFERENCE.worker_kit
    assert Path(kit.contracts, "subtask.v1.json").is_file()
    assert sorted(p.name for p in Path(kit.golden).iterdir()) == ["research", "review", "write"]


def test_consumers_and_export_check_run_from_any_directory(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consumers"]) == 0
    assert "consumer declarations satisfied" in capsys.readouterr().out
    assert main(["export", "--check"]) == 0
    assert "every contract matches its model" in capsys.readouterr().out


def test_the_gate_runs_from_any_directory(elsewhere: Path) -> None:
    report = run_gate(
        GateConfig(role="research", candidate="reference_system.workers:ResearchWorker", examples=2)
    )
    assert report.safe and report.step("golden").status == "pass"


def test_a_system_that_declares_no_registry_needs_dir(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    bare = dataclasses.replace(
        REFERENCE, spec="", worker_kit=dataclasses.replace(REFERENCE.worker_kit, contracts="", golden="")
    )
    mod = types.ModuleType("bare_system_for_test")
    mod.system = bare  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bare_system_for_test", mod)
    assert main(["consumers", "--system", "bare_system_for_test:system"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dir is required: the system declares no contracts directory" in err
    assert (
        main(
            ["consumers", "--system", "bare_system_for_test:system", "--dir", REFERENCE.worker_kit.contracts]
        )
        == 0
    )
