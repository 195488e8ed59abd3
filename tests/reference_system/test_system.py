"""The reference system end to end, driven step by step in one thread."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import harness
from harness.backends import Endpoints, embedded
from harness.history import pair_operations
from harness.history.recorder import Recorder
from reference_system import bus
from reference_system.messages import BriefRequest, SubtaskMessage
from reference_system.workers import ResearchWorker, WriteWorker
from reference_system.workload import requests
from tests.conftest import System, build_system


def _items(system: System) -> dict[str, dict[str, Any]]:
    from reference_system.store import from_av

    ddb = harness.session(system.endpoints, "probe").client("dynamodb")
    return {
        it["pk"]["S"]: from_av(it)
        for it in ddb.scan(TableName=system.resources.tasks_table, ConsistentRead=True)["Items"]
    }


def _assert_healthy(system: System, n: int) -> dict[str, dict[str, Any]]:
    items = _items(system)
    tasks = {k: v for k, v in items.items() if v["kind"] == "task"}
    assert len(tasks) == n
    assert all(t["state"] in ("done", "failed") for t in tasks.values())
    effects = Counter((o.f, o.key) for o in system.effects())
    assert effects and max(effects.values()) == 1
    return items


def run_three_to_briefs(ep: Endpoints, timeout: float = 60.0) -> System:
    """Three requests on ``ep`` each end in one stored brief and one
    publication, every task going dispatched -> running -> done in order."""
    rec = Recorder()
    system = build_system(ep, rec)
    reqs = [BriefRequest(request_id=f"q{i}", topic="heat pumps", token_budget=4000) for i in range(3)]
    for r in reqs:
        system.supervisor.submit(r)
    system.run(timeout=timeout)
    items = _assert_healthy(system, 3)
    assert all(items[r.request_id]["state"] == "done" for r in reqs)
    ddb = harness.session(ep, "probe").client("dynamodb")
    briefs = ddb.scan(TableName=system.resources.briefs_table)["Items"]
    assert len(briefs) == 3
    assert len(system.effects("publish")) == 3
    for r in reqs:
        path = [
            o.value["to"]
            for o in rec.ops
            if o.f == "state.transition" and o.type == "ok" and o.key == r.request_id
        ]
        assert path == ["dispatched", "running", "done"]
    return system


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_requests_run_to_a_brief_on_both_embedded_modes(mode: str) -> None:
    with embedded(mode) as ep:
        run_three_to_briefs(ep)


def test_correlation_id_reaches_every_message_and_operation_of_a_task(system: System) -> None:
    system.supervisor.submit(BriefRequest(request_id="c1", topic="coffee prices", token_budget=4000))
    system.run()
    cid = _items(system)["c1"]["correlation_id"]
    worker_ops = [
        o for o in system.recorder.ops if str(o.process).endswith("-1") and o.f != "sqs.ReceiveMessage"
    ]
    assert worker_ops and {o.correlation_id for o in worker_ops} == {cid}
    received = [
        m
        for o in system.recorder.ops
        if o.f == "sqs.ReceiveMessage" and o.type == "ok"
        for m in o.value["messages"]
    ]
    assert received and {m["correlation_id"] for m in received} == {cid}


def test_tight_budget_fails_the_task_with_a_budget_reason(system: System) -> None:
    system.supervisor.submit(BriefRequest(request_id="b1", topic="wheat exports", token_budget=60))
    system.run()
    items = _items(system)
    assert items["b1"]["state"] == "failed"
    assert "token budget exceeded" in items["b1"]["reason"]
    assert system.effects("publish") == []


class CrashAfterPublish(WriteWorker):
    """Publishes, then dies before acknowledging: the message is redelivered."""

    crashes = 1

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = super().handle(task, ctx)
        if CrashAfterPublish.crashes:
            CrashAfterPublish.crashes -= 1
            raise ConnectionResetError("worker lost its connection mid-task")
        return out


def test_redelivered_subtask_produces_one_effect(endpoints: Any) -> None:
    rec = Recorder()
    system = build_system(endpoints, rec, workers={"write": CrashAfterPublish()}, visibility_timeout=1)
    system.supervisor.submit(BriefRequest(request_id="d1", topic="solar tariffs", token_budget=4000))
    system.run(timeout=30)
    assert _items(system)["d1"]["state"] == "done"
    receives = [
        m["receive_count"]
        for o in rec.ops
        if o.f == "sqs.ReceiveMessage" and o.type == "ok" and o.key.endswith("-write")
        for m in o.value["messages"]
    ]
    assert max(receives) == 2  # it really was delivered twice
    assert len(system.effects("publish")) == 1


def test_duplicate_delivery_of_a_subtask_is_absorbed(system: System) -> None:
    system.supervisor.submit(BriefRequest(request_id="e1", topic="port congestion", token_budget=4000))
    # Let the supervisor dispatch, then duplicate every research message (at-least-once delivery).
    system.supervisor.step()
    sqs = harness.session(system.endpoints, "chaos").client("sqs")
    q = system.resources.queue("research")
    msgs = bus.receive(sqs, q, 10)
    for raw in msgs:
        sqs.send_message(QueueUrl=q, MessageBody=raw["Body"], MessageAttributes=raw["MessageAttributes"])
        sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=raw["ReceiptHandle"], VisibilityTimeout=0)
    system.run()
    assert _items(system)["e1"]["state"] == "done"
    fetches = Counter(o.key for o in system.effects("fetch"))
    assert len(fetches) == len(msgs) and set(fetches.values()) == {1}
    handled = [
        o.key
        for o in system.recorder.ops
        if o.f == "model.complete" and o.type == "ok" and "research" in o.key
    ]
    received = [
        m["message_id"]
        for o in system.recorder.ops
        if o.f == "sqs.ReceiveMessage" and o.type == "ok" and o.key.endswith("-research")
        for m in o.value["messages"]
    ]
    # Each copy was delivered, but the work (and its token spend) happened once:
    # the second copy was answered from the stored result.
    assert len(received) >= 2 * len(msgs)
    assert len(handled) == len(set(handled)) == len(msgs)


def test_poison_message_is_dead_lettered_and_fails_its_task(system: System) -> None:
    system.supervisor.submit(BriefRequest(request_id="p1", topic="remote work", token_budget=4000))
    system.supervisor.step()
    sqs = harness.session(system.endpoints, "chaos").client("sqs")
    q = system.resources.queue("research")
    raw = bus.receive(sqs, q, 1)[0]
    # Replace one subtask with a body no worker can parse, keeping its identity.
    sqs.delete_message(QueueUrl=q, ReceiptHandle=raw["ReceiptHandle"])
    poison = SubtaskMessage.model_validate_json(raw["Body"]).model_dump()
    poison["token_budget"] = -1
    import json

    sqs.send_message(QueueUrl=q, MessageBody=json.dumps(poison), MessageAttributes=raw["MessageAttributes"])
    system.run(timeout=30)
    items = _items(system)
    assert items[poison["subtask_id"]]["state"] == "dead_lettered"
    assert items["p1"]["state"] == "failed" and "dead-lettered" in items["p1"]["reason"]
    rejects = [o for o in system.recorder.ops if o.f == "worker.reject" and o.type == "fail"]
    assert len(rejects) == 3  # maxReceiveCount receives, then the redrive policy moved it


class AlwaysFails(ResearchWorker):
    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        from reference_system.workers import PermanentFailure

        raise PermanentFailure("search backend refuses every query")


def test_circuit_opens_after_repeated_failures_and_fails_fast(endpoints: Any) -> None:
    rec = Recorder()
    system = build_system(
        endpoints, rec, workers={"research": AlwaysFails()}, breaker_threshold=2, breaker_cooldown=3600
    )
    for r in requests(4, seed=3, tight_fraction=0):
        system.supervisor.submit(r)
        system.run()
    items = _items(system)
    tasks = [v for v in items.values() if v["kind"] == "task"]
    assert all(t["state"] == "failed" for t in tasks)
    assert any("circuit open for capability research" in t["reason"] for t in tasks)
    opened = [o.value for o in rec.ops if o.f == "breaker.transition" and o.type == "ok"]
    assert opened[0] == {"from": "closed", "to": "open"}


def test_every_invocation_is_completed(system: System) -> None:
    for r in requests(3, seed=5):
        system.supervisor.submit(r)
    system.run()
    pairs = list(pair_operations(system.recorder.ops))
    assert pairs and all(p.complete is not None for p in pairs)


def test_dead_letter_queues_are_polled_every_interval_not_every_turn(
    endpoints: Any, recorder: Recorder
) -> None:
    now = [0.0]
    system = build_system(endpoints, recorder, clock=lambda: now[0], dead_letter_interval=2.0)
    system.supervisor.submit(BriefRequest(request_id="d1", topic="remote work", token_budget=4000))

    def dlq_polls() -> int:
        return sum(
            1
            for o in recorder.ops
            if o.type == "invoke" and o.f == "sqs.ReceiveMessage" and o.key.endswith("-dlq")
        )

    for _ in range(5):  # idle turns within one interval: one poll of each dead-letter queue
        system.supervisor.step()
    assert dlq_polls() == 3
    now[0] = 2.5
    for _ in range(5):
        system.supervisor.step()
    assert dlq_polls() == 6


def test_a_throttled_budget_settle_is_owed_not_fatal(endpoints: Endpoints) -> None:
    """A worker's settle (the UpdateItem that releases its budget hold) is
    throttled once. The answer stands: the settle is owed and paid on the
    worker's next turn, so nothing is redone and no hold is left to block a
    redelivery for ``hold_seconds`` (which would fail every delivery of the
    message until it was dead-lettered)."""
    from harness.faults import Fault, FaultInjector, FaultPlan, Target, Trigger
    from reference_system import WorkerLoop

    rec = Recorder()
    system = build_system(endpoints, rec)
    plan = FaultPlan(
        seed=0,
        faults=[
            Fault(
                kind="throttle",
                target=Target(agent="research-1", service="dynamodb", operation="UpdateItem"),
                trigger=Trigger(nth=2),  # the first is the hold, the second its settle
            )
        ],
    )
    session = harness.session(endpoints, "research-1", rec)
    FaultInjector(plan, rec).install(session)
    old = system.workers[0]
    assert old.capability == "research"
    system.workers[0] = WorkerLoop(old.worker, session, system.resources, old.model)
    system.supervisor.submit(BriefRequest(request_id="t1", topic="heat pumps", token_budget=4000))
    system.run(timeout=60)

    (throttled,) = [o for o in rec.ops if o.f == "fault.throttle"]
    assert throttled.key == "research-1:dynamodb.UpdateItem"
    assert not [o for o in rec.ops if o.f == "worker.error"]
    assert _items(system)["t1"]["state"] == "done"
    assert not system.workers[0].ledger.owed
    calls = [o for o in rec.ops if o.f == "model.complete" and o.type == "ok" and "/research/" in o.key]
    assert len(calls) == len({o.key for o in calls})  # no research was paid for twice
    ddb = harness.session(endpoints, "probe").client("dynamodb")
    for it in ddb.scan(TableName=system.resources.idempotency_table)["Items"]:
        if it["pk"]["S"].startswith("budget:"):
            assert not any(name.startswith("hold_") for name in it), it["pk"]
            assert it["held"]["N"] == "0"
    spent = {f"budget:{o.key}": o.value["input_tokens"] + o.value["output_tokens"] for o in calls}
    charged = {
        it["pk"]["S"]: int(it["committed"]["N"])
        for it in ddb.scan(TableName=system.resources.idempotency_table)["Items"]
        if it["pk"]["S"] in spent
    }
    assert charged == spent
