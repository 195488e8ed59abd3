"""Edge cases of the wrappers and the call tracer."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument import correlation
from harness.tracing import TracedAgent, TracedModel, Tracing, install, spans
from reference_system.llm import ScriptedModel


def test_a_failing_model_call_is_an_error_span(tracing: Tracing) -> None:
    model = TracedModel(ScriptedModel(seed=1), tracing)
    assert model.name == "scripted-1" and model.seed == 1  # the model's own attributes pass through
    with correlation("c9"), pytest.raises(ValueError, match="no script"):
        model.complete("poetry", "a sonnet", {})
    (span,) = spans(tracing).select('span[gen_ai.operation.name="chat"]')
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ValueError" and span.attributes["harness.correlation_id"] == "c9"
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_a_message_rejected_before_sending_does_not_leak_its_span(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    s = harness.session(endpoints, "w", recorder)
    install(s, tracing)
    sqs = s.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with correlation("c1"):
        with pytest.raises(ParamValidationError):
            sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds="soon")
        sqs.send_message(QueueUrl=url, MessageBody="y")
    sends = spans(tracing).select('span[name="send q"]')
    assert sorted(sends.values("status")) == ["error", "unset"]
    spans(tracing).assert_connected()


def test_batch_sends_share_one_producer_span(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    s = harness.session(endpoints, "w", recorder)
    install(s, tracing)
    sqs = s.client("sqs")
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    with correlation("c1"):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)]
        )
    (send,) = spans(tracing).select('span[name="send batch"]')
    assert send.attributes["messaging.batch.message_count"] == 3
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert {m["MessageAttributes"]["traceparent"]["StringValue"] for m in got} == {
        f"00-{send.context.trace_id:032x}-{send.context.span_id:016x}-{int(send.context.trace_flags):02x}"
    }


def test_traced_agent_passes_everything_else_through(tracing: Tracing) -> None:
    class Agent:
        agent = "a-1"
        steps = 0

        def step(self) -> bool:
            self.steps += 1
            return False

        def submit(self, x: Any) -> Any:
            return x

    a = TracedAgent(Agent(), tracing)
    assert a.trace_name == "a-1" and a.step() is False and a.steps == 1 and a.submit(3) == 3
