"""The gate judges side effects per subtask (their kinds and number, not
the spelling of their keys; a key that changes per delivery is a duplicate),
and runs workers that use AWS themselves against the system deployed on the
embedded backend."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from harness.contracts import gate as gate_module
from harness.contracts.behaviour import Pair, compare
from harness.contracts.gate import GateConfig, GateReport, run_gate
from harness.contracts.sandbox import OK, Outcome, Sandbox, deployed, idempotency_store
from harness.history.recorder import Recorder
from reference_system.messages import SubtaskMessage
from tests.contracts.conftest import CONTRACTS, GOLDEN

CANDIDATES = "tests.contracts.candidates_aws"


def gate(tmp_path: Path, cls: str, examples: int = 3, system: Any = None) -> GateReport:
    cfg = GateConfig(
        "research",
        cls if ":" in cls else f"{CANDIDATES}:{cls}",
        CONTRACTS,
        GOLDEN,
        examples=examples,
        report=tmp_path / "report.json",
        system=system,
    )
    return run_gate(cfg)


def failing(r: GateReport) -> dict[str, list[dict[str, Any]]]:
    return {s.name: s.findings for s in r.steps if s.status == "fail"}


def kinds(r: GateReport) -> set[str]:
    return {f["kind"] for s in r.steps for f in s.findings if f["severity"] == "error"}


def test_a_stable_key_of_its_own_is_safe(tmp_path: Path) -> None:
    r = gate(tmp_path, "PrefixedKeyResearchWorker")
    assert r.safe, failing(r)
    assert "effects_differ" not in {f["kind"] for f in r.step("behaviour").findings}
    assert r.step("behaviour").summary.startswith("6 inputs")  # 3 golden + 3 generated, all compared


def test_a_key_that_changes_per_delivery_duplicates_the_effect(tmp_path: Path) -> None:
    r = gate(tmp_path, "PerDeliveryKeyResearchWorker")
    assert not r.safe
    assert list(failing(r)) == ["golden"]
    found = r.step("golden").findings
    assert {f["kind"] for f in found} == {"duplicate_effect"}
    assert len(found) == 3  # one per golden subtask
    # The first golden subtask was delivered as deliveries 0 (candidate) and 1 (again).
    assert found[0]["where"] == "golden g1-demand"
    assert found[0]["message"] == (
        "side effect fetch(g1/research/0#1) performed again, under another key "
        "(first fetch(g1/research/0#0)), when the subtask was delivered a second time"
    )


def test_an_extra_kind_of_side_effect_is_not_safe(tmp_path: Path) -> None:
    r = gate(tmp_path, "NotifyingResearchWorker", examples=0)
    assert list(failing(r)) == ["behaviour"]
    (f, *rest) = [f for f in r.step("behaviour").findings if f["kind"] == "effects_differ"]
    assert len(rest) == 2  # every golden input
    assert f["missing"] == [] and [tuple(e) for e in f["extra"]] == [("notify", "g1/research/0")]
    assert f["message"].startswith("candidate performs notify 1 time(s) where the incumbent performs it 0")


def _o(*effects: tuple[str, str]) -> Outcome:
    return Outcome(OK, {"facts": []}, None, 10, list(effects))


def test_the_diff_compares_kinds_and_counts_not_keys() -> None:
    same = Pair("a", _o(("fetch", "s1"), ("publish", "t1")), _o(("publish", "pub-t1"), ("fetch", "fetch-s1")))
    assert compare([same])[0] == []
    findings, _ = compare([Pair("b", _o(("fetch", "s1")), _o(("fetch", "x"), ("fetch", "y")))])
    assert [(f["kind"], f["missing"], f["extra"]) for f in findings] == [
        ("effects_differ", [], [("fetch", "y")])
    ]
    findings, _ = compare([Pair("c", _o(("fetch", "s1")), _o(("store", "s1")))])
    assert [(f["missing"], f["extra"]) for f in findings] == [([("fetch", "s1")], [("store", "s1")])]


def test_a_worker_using_the_deployed_tables_passes_the_gate(tmp_path: Path) -> None:
    r = gate(tmp_path, "DynamoResearchWorker")
    assert r.safe, failing(r)
    assert "crash" not in kinds(r)


TASK = SubtaskMessage(
    task_id="t1",
    subtask_id="t1/research/0",
    capability="research",
    topic="tea",
    token_budget=500,
    inputs={"subtopic": "tea: supply"},
)


def test_the_workers_aws_calls_are_recorded_as_the_delivery() -> None:
    from tests.contracts.candidates_aws import DynamoResearchWorker

    rec = Recorder()
    with deployed(seed=0) as aws:
        out = Sandbox(DynamoResearchWorker(), "w", rec, idempotency_store(), aws=aws).deliver(TASK)
        assert out.status == OK, out.reason
    calls = [
        (o.process, o.meta.get("agent"), o.f)
        for o in rec.ops
        if o.type == "ok" and o.f.startswith("dynamodb.")
    ]
    assert ("w/t1/research/0", "w", "dynamodb.PutItem") in calls
    assert [f for _, _, f in calls].count("dynamodb.GetItem") == 3


def test_without_a_backend_the_context_has_no_session() -> None:
    from tests.contracts.candidates_aws import DynamoResearchWorker

    out = Sandbox(DynamoResearchWorker(), "w", Recorder(), idempotency_store()).deliver(TASK)
    assert out.reason == "RuntimeError: w: this worker context has no AWS session"


def test_a_kit_without_aws_runs_as_before_with_no_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reference_system.system import system
    from reference_system.workers import WorkerContext

    calls: list[int] = []

    def context(*args: Any) -> Any:  # an old kit: five positional arguments, nothing else
        calls.append(len(args))
        return WorkerContext(*args)

    kit = dataclasses.replace(system.worker_kit, context=context, context_takes_aws=False)
    old = dataclasses.replace(system, worker_kit=kit)

    def no_backend(*_: Any, **__: Any) -> Any:
        raise AssertionError("the gate started a backend for a kit that takes no AWS")

    monkeypatch.setattr(gate_module, "deployed", no_backend)
    r = gate(tmp_path, "reference_system.workers:ResearchWorker", examples=2, system=old)
    assert r.safe, failing(r)
    assert calls and set(calls) == {5}
