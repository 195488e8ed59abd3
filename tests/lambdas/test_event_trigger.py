from __future__ import annotations

import json
from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session
from harness.lambdas import EventTrigger, LambdaContext, LambdaFaults, is_eventbridge_event
from harness.lambdas.events import EVENT_FIELDS
from tests.lambdas.helpers import FakeClock, completions, counts, expire, make_queue, queue_arn, seeded_ids


class Rule:
    """An EventBridge rule on moto whose target is an SQS queue."""

    def __init__(self, endpoints: Endpoints, recorder: Recorder) -> None:
        ps = plain_session(endpoints)
        self.sqs = ps.client("sqs")
        self.events = ps.client("events")
        self.queue = make_queue(self.sqs, "orders-fn")
        self.failures = make_queue(self.sqs, "orders-fn-failed")
        self.events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["app.orders"]}))
        self.events.put_targets(Rule="orders", Targets=[{"Id": "fn", "Arn": queue_arn(self.sqs, self.queue)}])
        self.session = harness.session(endpoints, agent="fn", recorder=recorder)
        self.clock = FakeClock()
        self.got: list[Any] = []
        self.handles: list[str] = []
        self.session.add_interceptor(self)

    def intercept(self, call: Any, proceed: Any) -> Any:
        out = proceed()
        if call.operation == "ReceiveMessage":
            self.handles += [m["ReceiptHandle"] for m in out[1].get("Messages", [])]
        return out

    def put(self, detail: dict[str, Any], source: str = "app.orders") -> None:
        self.events.put_events(
            Entries=[{"Source": source, "DetailType": "OrderPlaced", "Detail": json.dumps(detail)}]
        )

    def trigger(self, fail: bool = False, **kw: Any) -> EventTrigger:
        def handler(event: Any, ctx: LambdaContext) -> None:
            self.got.append(event)
            if fail:
                raise ValueError("bad order")

        return EventTrigger(
            handler, self.session, self.queue, clock=self.clock, ids=seeded_ids(), function_name="fn", **kw
        )


@pytest.fixture
def rule(endpoints: Endpoints, recorder: Recorder) -> Rule:
    return Rule(endpoints, recorder)


def test_the_handler_gets_the_event_envelope_a_real_rule_delivered(rule: Rule, recorder: Recorder) -> None:
    rule.put({"order": 7, "correlation_id": "c-7"})
    rule.put({"order": 8}, source="app.other")  # the rule does not match it
    t = rule.trigger()
    assert t.step() is True
    (event,) = rule.got
    assert is_eventbridge_event(event) and set(EVENT_FIELDS) <= set(event)
    assert event["source"] == "app.orders" and event["detail-type"] == "OrderPlaced"
    assert event["detail"] == {"order": 7, "correlation_id": "c-7"}
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert t.step() is False
    assert counts(rule.sqs, rule.queue) == (0, 0)
    inv = next(o for o in recorder.ops if o.f == "lambda.invoke")
    assert inv.value["event_id"] == event["id"] and inv.value["attempt"] == 1
    assert inv.correlation_id == "c-7"


def test_a_failing_event_is_retried_twice_then_sent_to_the_failure_queue(
    rule: Rule, recorder: Recorder
) -> None:
    rule.put({"order": 9})
    t = rule.trigger(fail=True, on_failure_queue_url=rule.failures)
    for attempt in (1, 2):
        assert t.step() is True
        assert counts(rule.sqs, rule.queue) == (0, 1)  # hidden for the retry delay
        assert t.step() is False, f"attempt {attempt}: the event must stay hidden"
        _expire_all(rule)  # the retry delay (60 s, then 120 s) has passed
    assert t.step() is True
    assert len(rule.got) == 3
    assert counts(rule.sqs, rule.queue) == (0, 0)
    (failed,) = rule.sqs.receive_message(QueueUrl=rule.failures, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(failed["Body"])["detail"] == {"order": 9}
    assert failed["MessageAttributes"]["ErrorCode"]["StringValue"] == "ValueError"
    inv = [o.value["attempt"] for o in recorder.ops if o.f == "lambda.invoke" and o.type == "invoke"]
    assert inv == [1, 2, 3]
    assert [o.type for o in completions(recorder)] == ["fail"] * 3


def test_with_no_retries_a_failed_event_is_dropped_at_once(rule: Rule) -> None:
    rule.put({"order": 10})
    t = rule.trigger(fail=True, max_retries=0)
    t.step()
    assert counts(rule.sqs, rule.queue) == (0, 0)
    assert counts(rule.sqs, rule.failures) == (0, 0)


def test_a_throttled_attempt_uses_no_retry(rule: Rule, recorder: Recorder) -> None:
    rule.put({"order": 11})
    t = rule.trigger(fail=True, faults=LambdaFaults(throttle_every=2))
    for _ in range(3):  # fails, is throttled, fails
        t.step()
        _expire_all(rule)
    attempts = [o.value["attempt"] for o in recorder.ops if o.f == "lambda.invoke" and o.type == "invoke"]
    assert attempts == [1, 2, 2]
    assert [o.error for o in completions(recorder)] == [
        "ValueError",
        "TooManyRequestsException",
        "ValueError",
    ]
    assert len(rule.got) == 2
    assert counts(rule.sqs, rule.queue) == (1, 0)  # one retry left


def test_retries_are_bounded_as_lambdas_are(rule: Rule) -> None:
    with pytest.raises(ValueError):
        rule.trigger(max_retries=3)


def _expire_all(rule: Rule) -> None:
    """End the retry delay of the hidden event now, by the receipt handle the
    trigger's last receive got."""
    expire(rule.sqs, rule.queue, rule.handles[-1:])
