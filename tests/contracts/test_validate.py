"""Validation at run time: the instrumented Session checks every message it
sends or receives; a violation is recorded and the run goes on."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import harness
from harness.backends import Endpoints
from harness.contracts.registry import Registry
from harness.contracts.validate import VIOLATION, MessageValidator, check_contracts, install
from harness.history.recorder import Recorder
from reference_system.messages import BriefRequest, SubtaskMessage
from reference_system.workers import ReviewWorker
from tests.contracts.conftest import validated_system


def _attrs(mtype: str | None = "subtask", version: str | None = "1") -> dict[str, str | None]:
    return {"message_type": mtype, "message_version": version, "message_id": "m1"}


GOOD = SubtaskMessage(
    task_id="t",
    subtask_id="t/research/0",
    capability="research",
    topic="x",
    token_budget=10,
    inputs={"subtopic": "x: a"},
)


def test_check_accepts_a_message_that_keeps_its_contract(registry: Registry) -> None:
    v = MessageValidator(registry, Recorder(), "a")
    assert v.check(GOOD.model_dump_json(), _attrs()) == ("subtask", [])


def test_check_rejects(registry: Registry) -> None:
    v = MessageValidator(registry, Recorder(), "a")
    body = GOOD.model_dump()
    assert v.check(json.dumps({**body, "token_budget": -1}), _attrs())[1] == [
        "$.token_budget: -1 is less than the minimum of 0"
    ]
    assert v.check(json.dumps({**body, "inputs": {}}), _attrs())[1] == [
        "$.inputs: 'subtopic' is a required property"
    ]
    assert v.check("{oops", _attrs())[1] == ["body is not JSON"]
    assert v.check(GOOD.model_dump_json(), _attrs(None))[1] == ["no message_type attribute"]
    assert v.check(GOOD.model_dump_json(), _attrs("subtask", None))[1] == ["no message_version attribute"]
    assert v.check(GOOD.model_dump_json(), _attrs("subtask", "9"))[1] == ["no contract for subtask version 9"]
    assert v.check(GOOD.model_dump_json(), _attrs("gossip"))[1] == ["no contract for message type 'gossip'"]
    assert MessageValidator(registry, Recorder(), "a", require_type=False).check("{}", {}) == (None, [])


def test_result_payload_is_checked_only_when_ok(registry: Registry) -> None:
    v = MessageValidator(registry, Recorder(), "a")
    res = {
        "task_id": "t",
        "subtask_id": "s",
        "capability": "review",
        "agent": "r",
        "status": "ok",
        "output": {
            "approved": True,
            "score": 42,
            "notes": "",
            "draft": {"title": "t", "paragraphs": ["p [s1]."], "citations": ["s1"]},
        },
    }
    assert v.check(json.dumps(res), _attrs("result"))[1] == [
        "$.output.score: 42 is greater than the maximum of 10"
    ]
    assert v.check(json.dumps({**res, "status": "failed"}), _attrs("result"))[1] == []
    assert (
        v.check(json.dumps({**res, "capability": "translate"}), _attrs("result"))[1] == []
    )  # no contract: not checked


def test_a_clean_run_has_no_violation(endpoints: Endpoints, registry: Registry) -> None:
    rec = Recorder()
    system = validated_system(endpoints, rec, registry)
    for i in range(2):
        system.supervisor.submit(BriefRequest(request_id=f"v{i}", topic="heat pumps", token_budget=4000))
    system.run()
    checked = sum((v.checked for v in system.extra["validators"]), Counter())
    assert checked["send"] >= 2 * (3 + 1 + 1) and checked["receive"] >= checked["send"] - 2
    assert [o for o in rec.ops if o.f == VIOLATION] == []
    assert check_contracts(rec.ops).valid is True


class GenerousReviewer(ReviewWorker):
    """Scores out of a hundred, not ten: its results break the review contract."""

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        return {**super().handle(task, ctx), "score": 42}


def test_violations_are_recorded_on_both_sides_and_the_run_goes_on(
    endpoints: Endpoints, registry: Registry
) -> None:
    rec = Recorder()
    system = validated_system(endpoints, rec, registry, workers={"review": GenerousReviewer()})
    system.supervisor.submit(BriefRequest(request_id="g1", topic="heat pumps", token_budget=4000))
    system.run()
    assert not system.supervisor.open_tasks  # the run finished
    ops = [o for o in rec.ops if o.f == VIOLATION]
    assert {(o.process, o.type, o.key, o.value["direction"], o.value["agent"]) for o in ops} == {
        ("contracts", "fail", "result", "send", "review-1"),
        ("contracts", "fail", "result", "receive", "supervisor"),
    }
    assert all(o.value["errors"] == ["$.output.score: 42 is greater than the maximum of 10"] for o in ops)
    assert len({o.value["message_id"] for o in ops}) == 1 and ops[0].correlation_id
    verdict = check_contracts(rec.ops)
    assert verdict.valid is False and [a.kind for a in verdict.anomalies] == ["contract_violation"] * 2


def test_raw_messages_without_attributes_or_with_bad_bodies(endpoints: Endpoints, registry: Registry) -> None:
    rec = Recorder()
    sender, receiver = harness.session(endpoints, "chaos", rec), harness.session(endpoints, "reader", rec)
    install(sender, registry)
    install(receiver, registry)
    sqs = sender.client("sqs")
    q = sqs.create_queue(QueueName="contracts-raw")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="{}")
    sqs.send_message(
        QueueUrl=q,
        MessageBody=json.dumps({"task_id": "t"}),
        MessageAttributes={
            "message_type": {"DataType": "String", "StringValue": "progress"},
            "message_version": {"DataType": "Number", "StringValue": "1"},
        },
    )
    got = receiver.client("sqs").receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 2
    ops = [o for o in rec.ops if o.f == VIOLATION]
    by = Counter((o.key, o.value["direction"]) for o in ops)
    assert by == {
        ("<untyped>", "send"): 1,
        ("<untyped>", "receive"): 1,
        ("progress", "send"): 1,
        ("progress", "receive"): 1,
    }
    progress = next(o for o in ops if o.key == "progress")
    assert "$: 'subtask_id' is a required property" in progress.value["errors"]
    assert progress.value["where"].startswith("sqs.SendMessage")
