"""An agent that drops a task's correlation id on the way to the next agent
leaves orphan spans, and ``assert_connected`` names them (in-process moto)."""

from __future__ import annotations

from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument import correlation
from harness.instrument.context import CORRELATION_ATTR
from harness.tracing import TraceAssertionError, TracedAgent, Tracing, dropped_correlation, install, spans

RECEIVED = "harness.received_correlation_ids"


class Relay:
    """Takes each message off ``inbox`` and sends its body on to ``outbox``
    (if any), under the message's correlation id, or under none when it
    ``drops`` it; then deletes the message."""

    def __init__(self, session: Any, inbox: str, outbox: str | None, *, drops: bool = False) -> None:
        self.sqs = session.client("sqs")
        self.inbox, self.outbox, self.drops = inbox, outbox, drops

    def step(self) -> bool:
        got = self.sqs.receive_message(
            QueueUrl=self.inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for m in got:
            carried = (m.get("MessageAttributes") or {}).get(CORRELATION_ATTR, {}).get("StringValue")
            with correlation(None if self.drops else carried):
                if self.outbox is not None:
                    self.sqs.send_message(QueueUrl=self.outbox, MessageBody=m["Body"])
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=m["ReceiptHandle"])
        return bool(got)


def _relay_run(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing, *, drops: bool, extra: str | None = None
) -> None:
    """client -> inbox -> relay-1 -> middle -> sink-1 -> done, for task t1.
    ``extra``: a message body sent to the inbox with no correlation id too."""

    def session(agent: str) -> Any:
        s = harness.session(endpoints, agent, recorder)
        install(s, tracing)
        return s

    client = session("client").client("sqs")
    inbox, middle, done = (client.create_queue(QueueName=n)["QueueUrl"] for n in ("inbox", "middle", "done"))
    with correlation("t1"):
        client.send_message(QueueUrl=inbox, MessageBody="brief")
    if extra is not None:
        client.send_message(QueueUrl=inbox, MessageBody=extra)
    relay = TracedAgent(Relay(session("relay-1"), inbox, middle, drops=drops), tracing, "relay-1")
    sink = TracedAgent(Relay(session("sink-1"), middle, done), tracing, "sink-1")
    assert relay.step() and sink.step()
    assert not relay.step() and not sink.step()


def test_a_relay_that_forwards_the_correlation_id_is_one_connected_trace(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    _relay_run(endpoints, recorder, tracing, drops=False)
    q = spans(tracing).assert_connected()
    assert q.tasks() == {"t1"} and len(q.task("t1").traces()) == 1
    assert {"relay-1", "sink-1"} <= set(q.task("t1").values("harness.agent"))
    # Receives (and the steps that handled them) record what their messages carried.
    receives = q.select('span[messaging.operation.type="receive"]')
    assert sorted(receives.names) == ["receive inbox", "receive middle"]
    assert all(s.attributes[RECEIVED] == ("t1",) for s in receives)
    assert all(s.attributes[RECEIVED] == ("t1",) for s in q.select('span[name startsWith "step"]'))
    assert dropped_correlation(q) == []


def test_a_relay_that_drops_the_correlation_id_leaves_orphans(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    _relay_run(endpoints, recorder, tracing, drops=True)
    q = spans(tracing)
    with pytest.raises(TraceAssertionError) as e:
        q.assert_connected()
    text = str(e.value)
    # The relay's send is the first orphan: its agent and the id it lost are named.
    first = next(f for f in e.value.failures if f.startswith("orphan span 'send middle'"))
    assert "of agent 'relay-1'" in first and "should carry 't1'" in first and "while handling" in first
    # Downstream, the sink's spans hang from that send, and are orphans of t1 too.
    for name, agent in [("step relay-1", "relay-1"), ("receive middle", "sink-1"), ("send done", "sink-1")]:
        assert f"orphan span {name!r}" in text and f"of agent {agent!r}" in text
    orphans = {f.split("'")[1] for f in dropped_correlation(q)}
    assert orphans == {
        "step relay-1",
        "send middle",
        "step sink-1",
        "receive middle",
        "send done",
        "delete middle",
    }
    # The spans that kept the id are not orphans: the relay's receive and delete.
    assert not any(f"orphan span {n!r}" in text for n in ("receive inbox", "delete inbox", "send inbox"))


def test_task_less_work_beside_a_task_less_message_is_not_an_orphan(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    """A step that received a message with no correlation id as well may be
    doing that message's work: nothing is marked."""
    _relay_run(endpoints, recorder, tracing, drops=True, extra="ping")
    assert dropped_correlation(spans(tracing)) == []


def test_task_less_work_before_the_step_receives_anything_is_not_an_orphan(
    endpoints: Endpoints, recorder: Recorder, tracing: Tracing
) -> None:
    s = harness.session(endpoints, "w-1", recorder)
    install(s, tracing)
    sqs = s.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    with correlation("t1"):
        sqs.send_message(QueueUrl=url, MessageBody="job")

    class Agent:
        def step(self) -> bool:
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])  # housekeeping, no task
            (m,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
            with correlation("t1"):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return True

    TracedAgent(Agent(), tracing, "w-1").step()
    q = spans(tracing)
    assert dropped_correlation(q) == []
    (house,) = q.select('span[rpc.method="GetQueueAttributes"]')
    assert RECEIVED not in house.attributes


def test_spans_made_elsewhere_are_judged_by_what_they_record(tracing: Tracing) -> None:
    """Spans from any instrumentation: a receive that records the ids its
    messages carried but carries none itself is an orphan, and so are the
    spans with no id under it; a child with no id of a span that merely has
    one is not (nothing says it handled a message)."""
    t = tracing.tracer
    with (
        t.start_as_current_span("receive q", attributes={RECEIVED: ["t7"], "harness.agent": "other-1"}),
        t.start_as_current_span("send r", attributes={"harness.agent": "other-1"}),
    ):
        pass
    with (
        t.start_as_current_span("step w", attributes={"harness.correlation_id": "t8"}),
        t.start_as_current_span("send s"),
    ):
        pass
    failures = dropped_correlation(spans(tracing))
    assert [f.split("'")[1] for f in failures] == ["receive q", "send r"]
    assert all("of agent 'other-1'" in f and "should carry 't7'" in f for f in failures)
