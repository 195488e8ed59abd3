"""Spans without secrets: attributes, status descriptions, exception events,
event and link attributes and names are redacted before any exporter (the
in-memory one, an added one) sees them; a span without secrets is passed on
untouched."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument import correlation
from harness.redaction import MARKER, Redactor
from harness.tracing import TracedAgent, TracedModel, Tracing, install, redact_span, spans
from tests.history.secret_corpus import CORPUS, ORDINARY, leaks_in


def _dump(tracing: Tracing, extra: InMemorySpanExporter | None = None) -> str:
    exported = list(tracing.spans()) + (list(extra.get_finished_spans()) if extra else [])
    return "\n".join(s.to_json() for s in exported)


def _spans_with_secrets(tracing: Tracing) -> None:
    tracer = tracing.tracer
    for i, secret in enumerate(CORPUS):
        link_span = tracer.start_span("linked")
        link_span.end()
        span = tracer.start_span(
            f"op {i} {secret.text}",
            attributes={"note": secret.text, "notes": [secret.text, "fine"], "n": i},
            links=[Link(link_span.get_span_context(), {"why": secret.text})],
        )
        span.add_event(f"event {secret.text}", {"detail": secret.text})
        span.record_exception(RuntimeError(f"upstream said: {secret.text}"))
        span.set_status(Status(StatusCode.ERROR, f"RuntimeError: {secret.text}"))
        span.end()


def test_no_secret_reaches_an_exporter() -> None:
    extra = InMemorySpanExporter()
    with Tracing(otlp=False, exporters=[extra]) as tracing:
        _spans_with_secrets(tracing)
        data = _dump(tracing, extra)
    assert leaks_in(data) == []
    assert {s.kind for s in CORPUS} <= {m["kind"] for m in MARKER.finditer(data)}
    span = next(s for s in tracing.spans() if s.name.startswith("op 0"))
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description.startswith("RuntimeError: key AKIA…[redacted:aws_access_key_id:")
    (exc,) = [e for e in span.events if e.name == "exception"]
    assert "[redacted:aws_access_key_id:" in exc.attributes["exception.message"]
    assert "[redacted:" in exc.attributes["exception.stacktrace"]
    assert exc.attributes["exception.type"] == "RuntimeError"
    assert span.attributes["n"] == 0 and span.attributes["notes"][1] == "fine"
    assert "[redacted:" in span.links[0].attributes["why"]


def test_without_redaction_the_same_spans_leak() -> None:
    """The control: the check above would see a leak."""
    with Tracing(otlp=False, redactor=Redactor.off()) as tracing:
        _spans_with_secrets(tracing)
        data = _dump(tracing)
    assert {leak for s in CORPUS for leak in s.leaks} == set(leaks_in(data))


def test_a_span_without_secrets_is_passed_on_as_it_is() -> None:
    with Tracing(otlp=False) as tracing:
        span = tracing.tracer.start_span("send jobs", attributes={f"a{i}": v for i, v in enumerate(ORDINARY)})
        span.set_status(Status(StatusCode.ERROR, "ThrottlingException"))
        span.end()
        (done,) = tracing.spans()
    assert dict(done.attributes) == {f"a{i}": v for i, v in enumerate(ORDINARY)}
    assert done.status.description == "ThrottlingException"
    assert redact_span(done) is done


def test_model_and_agent_failures_are_redacted() -> None:
    class LeakyModel:
        name = "leaky"

        def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Any:
            raise ValueError("bad key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Ab3dEf6hIj9k")

    class LeakyAgent:
        agent = "leaky-1"

        def __init__(self, model: Any) -> None:
            self.model = model

        def step(self) -> bool:
            with correlation("c1"):
                self.model.complete("write", "p", {})
            return True

    with Tracing(otlp=False) as tracing:
        agent = TracedAgent(LeakyAgent(TracedModel(LeakyModel(), tracing)), tracing)
        with pytest.raises(ValueError):
            agent.step()
        data = _dump(tracing)
        names = {s.name for s in tracing.spans()}
    assert "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" not in data
    assert data.count("[redacted:openai_api_key:") >= 4  # model span: status, event; step span: status, event
    assert {"chat leaky", "step leaky-1"} <= names


def test_aws_call_spans_of_the_instrumented_session_are_redacted(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    with Tracing(otlp=False) as tracing:
        s = harness.session(endpoints, "w", recorder)
        install(s, tracing)
        ddb = s.client("dynamodb")
        table = "items"
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = s.client("sqs")
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        for secret in CORPUS:
            with correlation(f"task {secret.text}"):
                ddb.put_item(TableName=table, Item={"pk": {"S": secret.text}})
                sqs.send_message(QueueUrl=url, MessageBody=secret.text)
        data = _dump(tracing)
    assert leaks_in(data) == []
    assert leaks_in(repr(recorder.ops)) == []
    assert "[redacted:" in data
    spans(tracing).assert_connected()
