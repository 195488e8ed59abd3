"""The live audit on the audit-queue fan-out of a real reference system
(in-process moto), with the shipped workers and with a careless writer."""

from __future__ import annotations

from typing import Any

import harness
from harness.audit import FINDING, LiveAudit, check_findings, findings_in
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from reference_system.messages import BriefRequest
from reference_system.runner import drive
from reference_system.workers import WriteWorker
from tests.conftest import build_system


class LeakyWriter(WriteWorker):
    def handle(self, task: Any, ctx: Any) -> dict[str, Any]:
        out = super().handle(task, ctx)
        first = out["paragraphs"][0]
        cut = first.index("[")
        wrong = first[:cut].rstrip() + " and 999 percent " + first[cut:]
        rumour = f"A rumour of a 900 percent jump [{task.task_id}/research/7-s7]."
        paras = [wrong, *out["paragraphs"][1:], rumour]
        return {**out, "title": "Brief by ops@example.com", "paragraphs": paras}


def _run(endpoints: Endpoints, rec: Recorder, **workers: Any) -> tuple[Any, LiveAudit]:
    system = build_system(endpoints, rec, workers=workers or None)
    live = LiveAudit(harness.session(endpoints, "auditor", rec), system.resources.tasks_table)
    live.attach(system.audit)
    for i, topic in enumerate(["heat pumps", "coffee prices"]):
        system.supervisor.submit(BriefRequest(request_id=f"L{i}", topic=topic, token_budget=4000))
    system.run()
    drive([system.audit], lambda: not system.audit.step(), timeout=10)
    return system, live


def test_live_audit_accepts_the_shipped_workers(endpoints: Endpoints, recorder: Recorder) -> None:
    _, live = _run(endpoints, recorder)
    # 2 tasks x (2-3 research + write + review) subtasks, each audited once.
    assert live.audited >= 8
    assert [f for f in live.findings if f.severity == "error"] == []
    assert check_findings(recorder.ops).valid is True


def test_live_audit_records_findings_into_the_history_as_the_run_goes(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    system, live = _run(endpoints, recorder, write=LeakyWriter())
    kinds = {(f.auditor, f.kind) for f in live.findings if f.severity == "error"}
    assert {
        ("leakage", "email_address"),
        ("grounding", "unresolved_citation"),
        ("grounding", "ungrounded_claim"),
    } <= kinds
    ops = recorder.ops
    recorded = list(findings_in(ops))
    assert len(recorded) == len(live.findings)
    # Findings are recorded by the auditor while the run goes on, under the
    # task's correlation id, and before the task's last status event is consumed.
    tasks = {op.key: op.correlation_id for op in ops if op.f == "budget.allocate" and op.type == "ok"}
    for op, f in recorded:
        assert op.process == "auditor" and op.correlation_id == tasks[f.task_id]
    last_finding = max(op.index for op, _ in recorded)
    assert last_finding < max(op.index for op in ops if op.f == "sqs.DeleteMessage")
    verdict = check_findings(ops)
    assert verdict.valid is False
    assert all(any(ops[i].f == FINDING for i in a.ops) for a in verdict.violations)
    assert system.audit.events["done"] >= 2


def test_a_redelivered_status_event_is_audited_once(endpoints: Endpoints, recorder: Recorder) -> None:
    _, live = _run(endpoints, recorder)
    n = len(recorder.ops)

    class Event:
        task_id, to_state = "L0", "done"
        item_id = "L0/write/0"

    live(Event())
    assert len(recorder.ops) == n
