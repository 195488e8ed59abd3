"""W3C trace context in SQS and SNS message attributes, on a real (moto) broker."""

from __future__ import annotations

import contextlib
from typing import Any

from opentelemetry.trace import get_current_span, set_span_in_context

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument import correlation
from harness.tracing import Tracing, extract, inject, install, spans
from harness.tracing.propagation import MAX_ATTRIBUTES, TRACEPARENT, TRACESTATE


def _ctx(tracing: Tracing) -> Any:
    span = tracing.tracer.start_span("producer")
    span.end()
    return set_span_in_context(span), span


def test_inject_then_extract_round_trips(tracing: Tracing) -> None:
    ctx, span = _ctx(tracing)
    msg: dict[str, Any] = {"MessageBody": "x"}
    assert inject(msg, ctx)
    tp = msg["MessageAttributes"][TRACEPARENT]
    assert tp["DataType"] == "String"
    assert tp["StringValue"].startswith(f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-")
    back = get_current_span(extract(msg)).get_span_context()
    assert (back.trace_id, back.span_id, back.is_remote) == (
        span.context.trace_id,
        span.context.span_id,
        True,
    )


def test_no_room_no_context(tracing: Tracing) -> None:
    ctx, _ = _ctx(tracing)
    full = {
        "MessageAttributes": {
            f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(MAX_ATTRIBUTES)
        }
    }
    assert not inject(full, ctx)
    assert TRACEPARENT not in full["MessageAttributes"]
    assert extract({"Body": "x"}) is None
    assert (
        extract({"MessageAttributes": {TRACEPARENT: {"DataType": "String", "StringValue": "garbage"}}})
        is None
    )


def test_tracestate_is_dropped_before_traceparent_when_space_is_short(tracing: Tracing) -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    sc = SpanContext(1, 2, False, TraceFlags(1), TraceState([("vendor", "v1")]))
    ctx = set_span_in_context(NonRecordingSpan(sc))
    roomy: dict[str, Any] = {}
    assert inject(roomy, ctx) and TRACESTATE in roomy["MessageAttributes"]
    tight = {
        "MessageAttributes": {
            f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(MAX_ATTRIBUTES - 1)
        }
    }
    assert inject(tight, ctx)
    assert TRACEPARENT in tight["MessageAttributes"] and TRACESTATE not in tight["MessageAttributes"]


def test_context_crosses_sqs_and_an_sns_fan_out(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    producer = harness.session(endpoints, "producer", recorder)
    consumer = harness.session(endpoints, "consumer", recorder)
    install(producer, tracing)
    install(consumer, tracing)
    sqs, sns = producer.client("sqs"), producer.client("sns")
    direct = sqs.create_queue(QueueName="direct")["QueueUrl"]
    fanned = sqs.create_queue(QueueName="fanned")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=fanned, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    with correlation("task-1"):
        sqs.send_message(QueueUrl=direct, MessageBody="a")
        sns.publish(TopicArn=topic, Message="b")
    csqs = consumer.client("sqs")
    got = [
        csqs.receive_message(QueueUrl=q, MessageAttributeNames=["All"])["Messages"][0]
        for q in (direct, fanned)
    ]
    q = spans(tracing)
    (send,) = q.select('span[name="send direct"]')
    (pub,) = q.select('span[name="publish events"]')
    for raw, producer_span in zip(got, (send, pub), strict=True):
        carried = get_current_span(extract(raw)).get_span_context()
        assert carried.span_id == producer_span.context.span_id
    # The consumer's receive spans join the producer's trace (outside a step: under the message).
    q = spans(tracing)
    receives = q.select('span[messaging.operation.type="receive"]')
    assert len(receives) == 2
    assert {s.context.trace_id for s in receives} == {send.context.trace_id}
    q.assert_connected()


def test_empty_polls_are_not_traced_unless_asked(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    quiet = harness.session(endpoints, "quiet", recorder)
    install(quiet, tracing)
    sqs = quiet.client("sqs")
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    sqs.receive_message(QueueUrl=url)
    assert spans(tracing).select('span[name="receive empty"]').names == []
    noisy = harness.session(endpoints, "noisy", recorder)
    install(noisy, tracing, trace_empty_receives=True)
    noisy.client("sqs").receive_message(QueueUrl=url)
    spans(tracing).select('span[name="receive empty"]').assert_count(1)


def test_failed_calls_are_error_spans(endpoints: Endpoints, recorder: Recorder, tracing: Tracing) -> None:
    s = harness.session(endpoints, "w", recorder)
    install(s, tracing)
    ddb = s.client("dynamodb")
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="missing", Key={"pk": {"S": "x"}})
    spans(tracing).select('span[rpc.method="GetItem"]').expect(
        'status = "error"',
        'error.type = "ResourceNotFoundException"',
        'harness.outcome = "fail"',
        "count = 1",
    )
