"""After-the-fact audits of recorded histories, and the findings checker."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from harness.audit import (
    FINDING,
    Finding,
    audit_file,
    audit_history,
    check_findings,
    finding_ops,
    findings_in,
)
from harness.checkers import check
from harness.history import Op, read_history
from harness.history.recorder import Recorder
from tests.audit.conftest import FIXTURES


@pytest.fixture(scope="module")
def ok_history() -> list[Op]:
    return read_history(FIXTURES / "history-ok.jsonl")


@pytest.fixture(scope="module")
def bad_history() -> list[Op]:
    return read_history(FIXTURES / "history-bad.jsonl")


def test_a_clean_run_has_no_error_findings(ok_history: list[Op]) -> None:
    found = audit_history(ok_history)
    assert [f for f in found if f.severity == "error"] == []
    verdict = check_findings(ok_history + finding_ops(ok_history, found))
    assert verdict.valid is True


def test_a_careless_writer_is_caught(bad_history: list[Op]) -> None:
    found = audit_history(bad_history)
    errors = Counter((f.auditor, f.kind) for f in found if f.severity == "error")
    for key in [
        ("schema", "invalid_output"),
        ("grounding", "ungrounded_claim"),
        ("grounding", "uncited_claim"),
        ("grounding", "unresolved_citation"),
        ("leakage", "email_address"),
        ("references", "unknown_agent"),
        ("effects", "repeated_effect"),
    ]:
        assert errors[key] >= 3, key  # once per task
    # Each finding names the output (or the effects) that show it.
    outputs = {op.index for op in bad_history if op.f == "agent.output"}
    effects = {op.index for op in bad_history if op.f == "effect.publish" and op.type == "ok"}
    for f in found:
        assert f.witnesses
        assert set(f.witnesses) <= (effects if f.auditor == "effects" else outputs)


def test_findings_are_operations_and_fail_the_run(bad_history: list[Op]) -> None:
    found = audit_history(bad_history)
    new = finding_ops(bad_history, found)
    assert len(new) == 2 * len(found)
    assert [op.index for op in new] == list(range(len(bad_history), len(bad_history) + len(new)))
    assert all(op.f == FINDING and op.process == "auditor" for op in new)
    # Each finding carries its output's correlation id, so it belongs to its task.
    by_index = {op.index: op for op in bad_history}
    for op, f in findings_in(new):
        assert op.correlation_id == by_index[f.witnesses[0]].correlation_id
    verdict = check_findings(bad_history + new)
    assert verdict.valid is False
    errors = [a for a in verdict.violations]
    assert len(errors) == sum(f.severity == "error" for f in found)
    some = errors[0]
    assert some.ops[0] in {op.index for op in bad_history}  # the witnessing output
    assert some.ops[-1] in {op.index for op in new}  # and the finding itself
    assert verdict.stats["by_auditor"]["grounding"] >= 3


def test_warnings_alone_do_not_fail_a_run() -> None:
    rec = Recorder()
    from harness.audit import record_finding

    record_finding(rec, Finding("budget", "near_budget", "close", "warning", subject="s"))
    record_finding(rec, Finding("budget", "note", "fyi", "info", subject="s"))
    v = check_findings(rec.ops)
    assert v.valid is True and len(v.warnings) == 1
    assert check_findings(rec.ops, fail_on=("error", "warning")).valid is False


def test_check_findings_runs_alongside_the_streaming_checkers(bad_history: list[Op]) -> None:
    from harness.audit import FindingsChecker
    from harness.checkers import run_checkers
    from harness.checkers.idempotency import IdempotencyChecker

    ops = bad_history + finding_ops(bad_history, audit_history(bad_history))
    findings, idem = run_checkers(ops, [FindingsChecker(), IdempotencyChecker()])
    assert findings.valid is False and idem.valid is False
    assert [v.checker for v in check(ops, ["idempotency"])] == ["idempotency"]


def test_audit_file_appends_findings_once(bad_history: list[Op], tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    shutil.copy(FIXTURES / "history-bad.jsonl", path)
    found = audit_file(path)
    assert found
    ops = read_history(path)
    assert len(ops) == len(bad_history) + 2 * len(found)
    assert audit_file(path) == []  # already audited: left alone
    assert len(read_history(path)) == len(ops)
