"""Traces of the real reference system (in-process moto): every task is one
connected trace across the supervisor, the workers and the audit fan-out."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.tracing import TraceAssertionError, Tracing, spans
from reference_system.messages import BriefRequest
from reference_system.runner import ThreadRunner, drive
from tests.conftest import System
from tests.tracing.conftest import build_traced_system


def _submit(system: System, n: int, budget: int = 4000) -> None:
    for i in range(n):
        system.supervisor.submit(BriefRequest(request_id=f"q{i}", topic="heat pumps", token_budget=budget))


def _finish(system: System) -> None:
    system.run()
    drive([system.audit], lambda: not system.audit.step(), timeout=10)


def test_every_task_is_one_connected_trace(traced_system: System, tracing: Tracing) -> None:
    _submit(traced_system, 3)
    _finish(traced_system)
    q = spans(tracing).assert_connected()
    assert len(q.tasks()) == 3
    assert len(q.traces()) == 3  # nothing outside the tasks' traces
    cids = {o.correlation_id for o in traced_system.recorder.ops if o.f == "budget.allocate"}
    assert q.tasks() == cids
    for cid in cids:
        task = q.task(cid)
        # Each task's trace reaches every agent, the model and the audit fan-out.
        assert set(task.values("harness.agent")) >= {
            "supervisor",
            "research-1",
            "write-1",
            "review-1",
            "auditor",
        }
        task.select('span[name="task"]').assert_count(1)
        task.select('span[gen_ai.operation.name="chat"]').expect(
            "count >= 4"
        )  # plan + research + write + review


def test_aws_calls_carry_messaging_and_database_conventions(traced_system: System, tracing: Tracing) -> None:
    _submit(traced_system, 1)
    _finish(traced_system)
    q = spans(tracing)
    q.select('span[messaging.system="aws_sqs" messaging.operation.type="send"]').expect(
        "count >= 5",
        'kind = "producer"',
        'messaging.destination.name startsWith "mas-"',
        'aws.sqs.queue.url startsWith "http"',
        'rpc.system = "aws-api"',
        'rpc.service = "SQS"',
        'rpc.method = "SendMessage"',
        'messaging.message.id != ""',
        'harness.outcome = "ok"',
    )
    q.select('span[messaging.operation.type="receive"]').expect(
        'kind = "client"', "messaging.batch.message_count >= 1", 'messaging.operation.name = "receive"'
    )
    q.select('span[messaging.system="aws.sns"]').expect(
        "count >= 4", 'name = "publish mas-status"', 'aws.sns.topic.arn endsWith ":mas-status"'
    )
    q.select('span[db.system.name="aws.dynamodb"]').expect(
        "count >= 10", 'db.system = "dynamodb"', 'kind = "client"', 'rpc.service = "DynamoDB"'
    )
    q.select('span[db.operation.name="UpdateItem" db.collection.name="mas-tasks"]').expect(
        'aws.dynamodb.table_names contains "mas-tasks"', "count >= 4"
    )
    q.select('span[rpc.method="GetItem"]').expect("aws.dynamodb.consistent_read = true")


def test_model_calls_carry_gen_ai_attributes(traced_system: System, tracing: Tracing) -> None:
    _submit(traced_system, 1)
    _finish(traced_system)
    calls = spans(tracing).select('span[gen_ai.operation.name="chat"]')
    calls.expect(
        'name = "chat scripted-1"',
        'gen_ai.request.model = "scripted-1"',
        'gen_ai.response.model = "scripted-1"',
        "gen_ai.usage.input_tokens > 0",
        "gen_ai.usage.output_tokens > 0",
    )
    kinds = calls.values("harness.model.kind")
    assert sorted(set(kinds)) == ["plan", "research", "review", "write"]
    # The tokens the spans report are the tokens the history recorded, the
    # supervisor's planning call included.
    recorded = sum(
        o.value["input_tokens"] + o.value["output_tokens"]
        for o in traced_system.recorder.ops
        if o.f == "model.complete" and o.type == "ok"
    )
    spent = sum(calls.values("gen_ai.usage.input_tokens")) + sum(calls.values("gen_ai.usage.output_tokens"))
    assert spent == recorded
    assert any(o.f == "model.complete" and o.key.endswith("/plan") for o in traced_system.recorder.ops)


def test_context_flows_from_send_through_the_workers_step_to_its_sends(
    traced_system: System, tracing: Tracing
) -> None:
    _submit(traced_system, 1)
    _finish(traced_system)
    q = spans(tracing)
    (send,) = q.select('span[name="send mas-research"]:first')
    # The worker's step for the task is a consumer span whose parent is the
    # supervisor's producer span for the message it received ...
    step = next(
        s
        for s in q.select('span[name="step research-1"]')
        if s.parent is not None and s.parent.span_id == send.context.span_id
    )
    assert step.kind == SpanKind.CONSUMER
    # ... and under it, the receive, the model call and the worker's own sends.
    under = q.children(step)
    assert {"receive mas-research", "chat scripted-1", "send mas-results", "send mas-progress.fifo"} <= set(
        under.names
    )
    assert "delete mas-research" in under.names
    # Selectors express the same: model calls below a research worker step.
    q.select('span[name="step research-1"] span[gen_ai.operation.name="chat"]').expect("count >= 1")
    # The step spans the whole handling of the message, receive to delete.
    assert step.start_time <= min(s.start_time for s in under)
    assert step.end_time >= max(s.end_time for s in under)


def test_the_status_fan_out_carries_context_through_sns(traced_system: System, tracing: Tracing) -> None:
    _submit(traced_system, 1)
    _finish(traced_system)
    q = spans(tracing)
    publishes = {s.context.span_id for s in q.select('span[name="publish mas-status"]')}
    audit_steps = q.select('span[name="step auditor"]')
    assert len(audit_steps) >= 4
    assert all(s.parent is not None and s.parent.span_id in publishes for s in audit_steps)
    q.select('span[name="step auditor"] span[name="delete mas-audit"]').expect("count >= 4")


def test_idle_steps_leave_no_spans(traced_system: System, tracing: Tracing) -> None:
    for _ in range(5):
        for a in traced_system.agents:
            assert a.step() is False
    assert spans(tracing).select('span[name startsWith "step"]').names == []
    assert len(tracing.spans()) == 0


def test_agents_in_threads_still_give_one_trace_per_task(traced_system: System, tracing: Tracing) -> None:
    import time

    _submit(traced_system, 4)
    with ThreadRunner(traced_system.agents):
        deadline = time.monotonic() + 60
        while not traced_system.supervisor.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    assert traced_system.supervisor.finished
    q = spans(tracing).assert_connected()
    assert len(q.tasks()) == 4


def test_two_processes_joined_only_by_message_attributes(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    """The supervisor and the workers each with their own TracerProvider, as
    in separate processes: the traces join through the messages alone."""
    from harness.tracing import TracedAgent

    workers_tracing = Tracing(service_name="workers", otlp=False)
    sup_side = build_traced_system(endpoints, recorder, tracing)
    worker_side = build_traced_system(endpoints, recorder, workers_tracing)
    system = System(
        endpoints,
        recorder,
        sup_side.resources,
        sup_side.supervisor,
        worker_side.workers,
        TracedAgent(sup_side.audit.wrapped, tracing, "auditor"),
    )
    _submit(system, 2)
    _finish(system)
    sup_spans, worker_spans = tracing.spans(), workers_tracing.spans()
    assert sup_spans and worker_spans
    with pytest.raises(TraceAssertionError, match="orphan"):
        spans(worker_spans).assert_connected()  # alone, the workers' spans hang from remote parents
    q = spans([*sup_spans, *worker_spans]).assert_connected()
    assert len(q.tasks()) == 2
    assert all(s.parent.is_remote for s in spans(worker_spans).select('span[name startsWith "step"]'))
    assert {s.resource.attributes["service.name"] for s in q} == {"reference-system", "workers"}
    workers_tracing.shutdown()


def test_a_step_that_fails_marks_its_spans(traced_system: System, tracing: Tracing) -> None:
    class Boom(Exception):
        pass

    _submit(traced_system, 1)
    sup = traced_system.supervisor
    inner = sup.wrapped

    def broken_dispatch() -> bool:
        inner.model.complete("plan", "Plan research on heat pumps.", {"topic": "heat pumps"})
        raise Boom("the supervisor crashed mid-step")

    inner._dispatch_next = broken_dispatch
    with pytest.raises(Boom):
        sup.step()
    (step,) = spans(tracing).select('span[name="step supervisor"]')
    assert step.status.status_code.name == "ERROR" and "crashed" in step.status.description
    assert any(e.name == "exception" for e in step.events)
