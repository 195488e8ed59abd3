"""The gate's parts on inputs they must accept and inputs they must reject:
the sandbox, the behavioural diff, the audit step."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from harness.checkers.verdict import Anomaly, Verdict
from harness.contracts.audit_step import audit_outputs
from harness.contracts.behaviour import Pair, compare, shape
from harness.contracts.sandbox import CRASHED, FAILED, OK, Outcome, Sandbox, idempotency_store
from harness.history.model import Op
from harness.history.recorder import Recorder
from reference_system.messages import SubtaskMessage
from reference_system.workers import PermanentFailure, ResearchWorker

TASK = SubtaskMessage(
    task_id="t1",
    subtask_id="t1/research/0",
    capability="research",
    topic="tea",
    token_budget=500,
    inputs={"subtopic": "tea: supply"},
)


class _Returns:
    capability = "research"

    def __init__(self, value: Any = None, exc: Exception | None = None) -> None:
        self.value, self.exc = value, exc

    def handle(self, task: SubtaskMessage, ctx: Any) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.value


def _deliver(worker: Any, store: Any = None, rec: Recorder | None = None) -> Outcome:
    return Sandbox(worker, "w", rec if rec is not None else Recorder(), store or idempotency_store()).deliver(
        TASK
    )


def test_sandbox_outcomes() -> None:
    ok = _deliver(ResearchWorker())
    assert ok.status == OK and ok.output["facts"] and ok.tokens > 0 and ok.model_calls == 1
    assert ok.effects == [("fetch", "t1/research/0")]
    assert _deliver(_Returns(exc=PermanentFailure("no sources"))).status == FAILED
    crashed = _deliver(_Returns(exc=KeyError("subtopic")))
    assert crashed.status == CRASHED and crashed.reason == "KeyError: 'subtopic'"
    assert _deliver(_Returns(["not", "a", "dict"])).reason == "handle returned list, not a dict"
    assert _deliver(_Returns({"x": float("nan")})).reason.startswith("output is not JSON")
    assert _deliver(_Returns({"x": object()})).status == CRASHED


def test_sandbox_redelivery_shares_the_idempotency_store() -> None:
    store, rec = idempotency_store(), Recorder()
    assert _deliver(ResearchWorker(), store, rec).effects == [("fetch", "t1/research/0")]
    assert _deliver(ResearchWorker(), store, rec).effects == []  # claimed already
    outputs = [o for o in rec.ops if o.f == "agent.output" and o.type == "ok"]
    assert [o.process for o in outputs] == ["w/t1/research/0"] * 2
    assert outputs[0].value["inputs"] == TASK.inputs


def test_sandbox_records_upstream_context_first() -> None:
    rec = Recorder()
    Sandbox(ResearchWorker(), "w", rec, idempotency_store()).deliver(TASK, [("research", {"facts": []})])
    first = next(o for o in rec.ops if o.f == "agent.output")
    assert first.key == "t1/research/upstream" and first.value["capability"] == "research"


def test_shape() -> None:
    assert shape({"a": [{"b": 1}, {"b": None, "c": "x"}], "d": True}) == {
        "$": "object",
        "$.a": "array",
        "$.a[*]": "object",
        "$.a[*].b": "mixed",
        "$.a[*].c": "string",
        "$.d": "boolean",
    }


def _o(
    status: str = OK, output: dict[str, Any] | None = None, tokens: int = 10, effects: Any = ()
) -> Outcome:
    return Outcome(status, output or {}, None, tokens, list(effects))


def test_behaviour_accepts_other_values_and_rejects_regressions() -> None:
    same_shape = Pair("a", _o(output={"t": "x", "n": [1]}), _o(output={"t": "y", "n": [2, 3]}))
    findings, stats = compare([same_shape])
    assert findings == [] and stats["changed_values"] == 3
    findings, _ = compare([Pair("b", _o(effects=[("fetch", "k")]), _o(FAILED))])
    assert [f["kind"] for f in findings] == ["status_regression"]
    findings, _ = compare(
        [Pair("c", _o(effects=[("fetch", "k")]), _o(effects=[("fetch", "k"), ("fetch", "k")]))]
    )
    assert [(f["kind"], f["extra"]) for f in findings] == [("effects_differ", [("fetch", "k")])]
    findings, _ = compare([Pair("d", _o(output={"t": "x", "v": 1}), _o(output={"t": 2}))])
    assert {(f["kind"], f["severity"]) for f in findings} == {
        ("field_dropped", "warning"),
        ("field_type_changed", "warning"),
    }
    findings, _ = compare([Pair("e", _o(tokens=10), _o(tokens=31))], max_token_ratio=3.0)
    assert [(f["kind"], f["severity"]) for f in findings] == [("token_use", "error")]
    findings, _ = compare([Pair("f", _o(FAILED), _o())])
    assert [(f["kind"], f["severity"]) for f in findings] == [("status_improved", "info")]


def _history(n: int) -> list[Op]:
    rec = Recorder()
    for i in range(n):
        rec.record("w", "ok", "agent.output", f"s{i}", {"output": {}}, agent="w")
    return rec.ops


def test_audit_is_skipped_without_the_verification_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "harness.audit", None)  # import fails as if not installed
    status, summary, _ = audit_outputs(_history(1), _history(1))
    assert status == "skip" and "not installed" in summary
    monkeypatch.setitem(sys.modules, "harness.audit", types.ModuleType("harness.audit"))
    status, summary, _ = audit_outputs(_history(1), _history(1))
    assert status == "skip" and "audit_history" in summary


def _fake_audit(monkeypatch: pytest.MonkeyPatch, fn: Any) -> None:
    mod = types.ModuleType("harness.audit")
    mod.audit_history = fn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "harness.audit", mod)


def test_audit_counts_only_findings_the_incumbent_did_not_earn(monkeypatch: pytest.MonkeyPatch) -> None:
    def audit(ops: list[Op]) -> list[dict[str, Any]]:
        found = [
            {"severity": "error", "kind": "uncited_claim", "subject": o.key, "message": "m"} for o in ops
        ]
        if len(ops) == 3:  # the candidate: one finding more, and a warning
            found += [{"severity": "error", "kind": "leak", "subject": "s2", "message": "an AWS key"}]
            found += [{"severity": "warning", "kind": "style", "subject": "s0", "message": "w"}]
        return found

    _fake_audit(monkeypatch, audit)
    status, summary, findings = audit_outputs(_history(3), _history(3)[:2])
    assert status == "fail"
    assert [(f["kind"], f["where"]) for f in findings] == [("uncited_claim", "s2"), ("leak", "s2")]
    assert "3 outputs audited" in summary and "2 also found for the incumbent" in summary


def test_audit_reads_verdicts_and_survives_a_broken_auditor(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = Verdict("grounding", False, (Anomaly("unsupported_claim", (0,), "no source", key="s0"),))
    _fake_audit(monkeypatch, lambda ops: bad if len(ops) == 2 else Verdict("grounding", True))
    status, _, findings = audit_outputs(_history(2), _history(1))
    assert status == "fail" and findings[0]["kind"] == "unsupported_claim" and findings[0]["where"] == "s0"

    def broken(ops: list[Op]) -> None:
        raise RuntimeError("judge unavailable")

    _fake_audit(monkeypatch, broken)
    status, summary, _ = audit_outputs(_history(1), _history(1))
    assert status == "warn" and "judge unavailable" in summary
