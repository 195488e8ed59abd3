"""The swap gate on one compatible candidate per role and on candidates that
are unsafe, each for a different reason; and bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.contracts.cli import main
from harness.contracts.gate import GateConfig, GateReport, run_gate
from tests.contracts.conftest import CONTRACTS, GOLDEN

CANDIDATES = "tests.contracts.candidates"
STEPS = ["contracts", "consumers", "golden", "generated", "audit", "behaviour"]


def gate(tmp_path: Path, role: str, cls: str, examples: int = 10) -> GateReport:
    cfg = GateConfig(
        role,
        f"{CANDIDATES}:{cls}",
        CONTRACTS,
        GOLDEN,
        examples=examples,
        seed=0,
        report=tmp_path / "report.json",
    )
    return run_gate(cfg)


def statuses(r: GateReport) -> dict[str, str]:
    return {s.name: s.status for s in r.steps}


def kinds(r: GateReport, step: str) -> set[tuple[str, str]]:
    return {(f["kind"], f["where"]) for f in r.step(step).findings if f["severity"] == "error"}


@pytest.mark.parametrize(
    ("role", "cls"),
    [
        ("research", "reference_system.workers:ResearchWorker"),
        ("write", "reference_system.workers:WriteWorker"),
        ("review", "reference_system.workers:ReviewWorker"),
        ("research", f"{CANDIDATES}:RephrasedResearchWorker"),
    ],
)
def test_a_compatible_candidate_is_safe_to_swap(tmp_path: Path, role: str, cls: str) -> None:
    r = run_gate(GateConfig(role, cls, CONTRACTS, GOLDEN, examples=20, report=tmp_path / "r.json"))
    assert r.safe, [(s.name, s.summary, s.findings[:3]) for s in r.steps if s.status == "fail"]
    assert [s.name for s in r.steps] == STEPS
    assert statuses(r)["audit"] in ("pass", "skip")
    assert all(s.status in ("pass", "skip") for s in r.steps)


def test_rephrased_candidate_behaves_differently_but_safely(tmp_path: Path) -> None:
    r = gate(tmp_path, "research", "RephrasedResearchWorker", examples=20)
    assert r.step("contracts").summary == (
        "input: BACKWARD-compatible with research_input v1; output: FORWARD-compatible with research_output v1"
    )
    assert "0 identical outputs" in r.step("behaviour").summary  # a new prompt: other facts, same shape


def test_an_added_optional_output_field_keeps_the_contract(tmp_path: Path) -> None:
    # The contract steps and the replay accept it; whatever the auditors think
    # of an extra field is their own verdict (the audit step).
    r = gate(tmp_path, "research", "ConciseResearchWorker")
    s = statuses(r)
    assert {k: s[k] for k in ("contracts", "consumers", "golden", "generated", "behaviour")} == dict.fromkeys(
        ("contracts", "consumers", "golden", "generated", "behaviour"), "pass"
    )
    assert any(f["kind"] == "fields_added" for f in r.step("behaviour").findings)


def test_declared_output_contract_breaks_the_registry(tmp_path: Path) -> None:
    r = gate(tmp_path, "write", "RenamingWriteWorker")
    assert not r.safe
    assert kinds(r, "contracts") == {("field_renamed", "output $.paragraphs")}
    assert ("field_removed_from_open_object", "review-worker $.paragraphs") in kinds(r, "consumers")
    assert statuses(r)["golden"] == "fail"  # and its outputs indeed lack paragraphs


def test_declared_input_contract_needs_more_than_is_sent(tmp_path: Path) -> None:
    r = gate(tmp_path, "research", "MonolingualResearchWorker")
    assert kinds(r, "contracts") == {("required_field_added", "input $.language")}
    assert [k for k, v in statuses(r).items() if v == "fail"] == ["contracts"]


def test_golden_outputs_break_the_output_contract(tmp_path: Path) -> None:
    r = gate(tmp_path, "review", "GenerousReviewWorker")
    assert statuses(r)["contracts"] == "pass"  # it declares nothing ...
    golden = r.step("golden")
    assert golden.status == "fail" and golden.summary == "0 of 4 golden inputs handled correctly"
    assert {f["kind"] for f in golden.findings} == {"invalid_output"}
    assert golden.findings[0]["message"] == "review_output v1: $.score: 70 is greater than the maximum of 10"


def test_generated_inputs_find_a_crash_that_golden_inputs_miss(tmp_path: Path) -> None:
    r = gate(tmp_path, "write", "FragileWriteWorker")
    s = statuses(r)
    assert s["golden"] == "pass" and s["generated"] == "fail"
    (f,) = r.step("generated").findings
    assert f["kind"] == "crash" and "NoneType" in f["message"]
    # Shrunk to a minimal input: one fact, without a value.
    assert [fact.get("value") for fact in f["input"]["inputs"]["facts"]] == [None]
    assert "status_regression" in {x["kind"] for x in r.step("behaviour").findings}


def test_missing_side_effect_is_a_behavioural_difference(tmp_path: Path) -> None:
    r = gate(tmp_path, "research", "OfflineResearchWorker")
    assert [k for k, v in statuses(r).items() if v == "fail"] == ["behaviour"]
    f = r.step("behaviour").findings[0]
    assert (
        f["kind"] == "effects_differ"
        and f["missing"] == [["fetch", "g1/research/0"]]
        or f["missing"] == [("fetch", "g1/research/0")]
    )


def test_side_effect_repeated_on_redelivery(tmp_path: Path) -> None:
    r = gate(tmp_path, "research", "EagerResearchWorker")
    assert [k for k, v in statuses(r).items() if v == "fail"] == ["golden"]
    assert kinds(r, "golden") == {
        ("duplicate_effect", f"golden {n}") for n in ("g1-demand", "g2-supply", "g3-capacity")
    }


def test_token_use_blowing_up(tmp_path: Path) -> None:
    r = gate(tmp_path, "review", "ThoroughReviewWorker")
    assert [k for k, v in statuses(r).items() if v == "fail"] == ["behaviour"]
    assert kinds(r, "behaviour") == {("token_use", "all inputs")}


def test_wrong_capability(tmp_path: Path) -> None:
    r = gate(tmp_path, "research", "MislabeledWorker", examples=1)
    assert kinds(r, "contracts") == {("capability_mismatch", "capability")}


def test_the_command_writes_a_report_and_exits_by_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["check", "--dir", str(CONTRACTS), "--golden", str(GOLDEN), "--examples", "5"]
    out = tmp_path / "ok.json"
    assert (
        main(
            [
                *base,
                "--role",
                "research",
                "--candidate",
                f"{CANDIDATES}:RephrasedResearchWorker",
                "--report",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "SAFE to swap" in text and all(step in text for step in STEPS)
    report = json.loads(out.read_text())
    assert report["safe"] is True and report["verdict"] == "safe to swap"
    assert [s["name"] for s in report["steps"]] == STEPS
    assert report["contracts"] == {"input": "research_input v1", "output": "research_output v1"}
    bad = tmp_path / "bad.json"
    assert (
        main(
            [
                *base,
                "--role",
                "review",
                "--candidate",
                f"{CANDIDATES}:GenerousReviewWorker",
                "--report",
                str(bad),
                "--json",
            ]
        )
        == 1
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(bad.read_text()) and printed["safe"] is False


def _golden_copy(tmp_path: Path, edit: Any) -> Path:
    import shutil

    d = tmp_path / "golden"
    shutil.copytree(GOLDEN, d)
    edit(d)
    return d


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--role", "translate", "--candidate", f"{CANDIDATES}:RephrasedResearchWorker"],
            "unknown role 'translate'",
        ),
        (["--role", "research", "--candidate", "nowhere.module:Worker"], "cannot load candidate"),
        (
            ["--role", "research", "--candidate", f"{CANDIDATES}.RephrasedResearchWorker"],
            "must look like pkg.module:Class",
        ),
        (["--role", "research", "--candidate", f"{CANDIDATES}:Nope"], "cannot load candidate"),
        (
            ["--role", "research", "--candidate", f"{CANDIDATES}:NotAWorker"],
            "does not implement the Worker protocol",
        ),
        (
            [
                "--role",
                "research",
                "--candidate",
                f"{CANDIDATES}:RephrasedResearchWorker",
                "--dir",
                "{tmp}/none",
            ],
            "no such contracts directory",
        ),
        (
            [
                "--role",
                "research",
                "--candidate",
                f"{CANDIDATES}:RephrasedResearchWorker",
                "--golden",
                "{tmp}/none",
            ],
            "no golden inputs",
        ),
        (
            [
                "--role",
                "research",
                "--candidate",
                f"{CANDIDATES}:RephrasedResearchWorker",
                "--golden",
                "{bad_golden}",
            ],
            "not a golden subtask",
        ),
        (
            [
                "--role",
                "research",
                "--candidate",
                f"{CANDIDATES}:RephrasedResearchWorker",
                "--golden",
                "{off_golden}",
            ],
            "inputs break research_input",
        ),
        (["--role", "research"], "required: --candidate"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    bad = _golden_copy(tmp_path / "b", lambda d: (d / "research" / "g1-demand.json").write_text("{"))
    off = _golden_copy(
        tmp_path / "o",
        lambda d: (d / "research" / "g1-demand.json").write_text(
            json.dumps(
                {
                    "task": {
                        **json.loads((GOLDEN / "research" / "g1-demand.json").read_text())["task"],
                        "inputs": {"topic": "x"},
                    }
                }
            )
        ),
    )
    args = [a.format(tmp=tmp_path, bad_golden=bad, off_golden=off) for a in argv]
    code = main(
        [
            "check",
            "--dir",
            str(CONTRACTS),
            "--golden",
            str(GOLDEN),
            *args,
            "--report",
            str(tmp_path / "r.json"),
        ]
        if "--dir" not in args
        else ["check", "--golden", str(GOLDEN), *args]
    )
    _, err = capsys.readouterr()
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err, err
