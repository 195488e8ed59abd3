"""The reference system end to end on LocalStack (SQS, SNS) and DynamoDB Local:
the same assertions as on the embedded backend."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from reference_system import bus
from reference_system.messages import BriefRequest
from tests.conftest import build_system
from tests.reference_system.test_system import CrashAfterPublish, _items, run_three_to_briefs

# The first LocalStack test of a fresh checkout also installs it (a few minutes, once).
pytestmark = [pytest.mark.localstack, pytest.mark.timeout(900)]


def test_requests_run_to_a_brief(ls: Endpoints) -> None:
    system = run_three_to_briefs(ls, timeout=120)
    # The status topic fanned out to the audit queue through LocalStack's SNS.
    assert system.audit.events["done"] >= 3


def test_redelivered_subtask_produces_one_effect(ls: Endpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CrashAfterPublish, "crashes", 1)  # a class-level counter, shared with its home module
    rec = Recorder()
    system = build_system(ls, rec, workers={"write": CrashAfterPublish()}, visibility_timeout=1)
    system.supervisor.submit(BriefRequest(request_id="d1", topic="solar tariffs", token_budget=4000))
    system.run(timeout=60)
    assert _items(system)["d1"]["state"] == "done"
    receives = [
        m["receive_count"]
        for o in rec.ops
        if o.f == "sqs.ReceiveMessage" and o.type == "ok" and o.key.endswith("-write")
        for m in o.value["messages"]
    ]
    assert max(receives) == 2
    assert len(system.effects("publish")) == 1


def test_poison_message_is_dead_lettered_and_fails_its_task(ls: Endpoints) -> None:
    import json

    from reference_system.messages import SubtaskMessage

    system = build_system(ls, Recorder())
    system.supervisor.submit(BriefRequest(request_id="p1", topic="remote work", token_budget=4000))
    system.supervisor.step()
    sqs = harness.session(ls, "chaos").client("sqs")
    q = system.resources.queue("research")
    raw = bus.receive(sqs, q, 1, 1)[0]
    sqs.delete_message(QueueUrl=q, ReceiptHandle=raw["ReceiptHandle"])
    poison: dict[str, Any] = SubtaskMessage.model_validate_json(raw["Body"]).model_dump()
    poison["token_budget"] = -1
    sqs.send_message(QueueUrl=q, MessageBody=json.dumps(poison), MessageAttributes=raw["MessageAttributes"])
    system.run(timeout=60)
    items = _items(system)
    assert items[poison["subtask_id"]]["state"] == "dead_lettered"
    assert items["p1"]["state"] == "failed" and "dead-lettered" in items["p1"]["reason"]
    rejects = Counter(o.f for o in system.recorder.ops if o.f == "worker.reject" and o.type == "fail")
    assert rejects["worker.reject"] == 3
