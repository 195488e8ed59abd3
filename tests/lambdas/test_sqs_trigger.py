from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session
from harness.lambdas import LambdaContext, SqsTrigger
from harness.system import Agent
from tests.lambdas.helpers import FakeClock, completions, counts, expire, make_queue, seeded_ids, with_dlq


class Env:
    """One function on one queue, with an admin client that is not recorded."""

    def __init__(self, endpoints: Endpoints, recorder: Recorder, queue_url: str | None = None) -> None:
        self.endpoints = endpoints
        self.rec = recorder
        self.admin = plain_session(endpoints).client("sqs")
        self.clock = FakeClock()
        self.session = harness.session(endpoints, agent="fn", recorder=recorder)
        self.queue = queue_url or make_queue(self.admin, "jobs")
        self.events: list[dict[str, Any]] = []

    def send(self, *bodies: str) -> None:
        for b in bodies:
            self.admin.send_message(
                QueueUrl=self.queue,
                MessageBody=b,
                MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}},
            )

    def trigger(self, handler: Callable[[Any, LambdaContext], Any], **kw: Any) -> SqsTrigger:
        def recording(event: Any, context: LambdaContext) -> Any:
            self.events.append(event)
            return handler(event, context)

        kw.setdefault("clock", self.clock)
        kw.setdefault("ids", seeded_ids())
        return SqsTrigger(recording, self.session, self.queue, function_name="fn", **kw)

    def handles(self, i: int = -1) -> list[str]:
        return [r["receiptHandle"] for r in self.events[i]["Records"]]


@pytest.fixture
def env(endpoints: Endpoints, recorder: Recorder) -> Env:
    return Env(endpoints, recorder)


def test_a_handler_that_succeeds_gets_lambdas_event_and_its_batch_is_deleted(env: Env) -> None:
    env.send("one", "two", "three")
    t = env.trigger(lambda event, ctx: None)
    assert isinstance(t, Agent)

    assert t.step() is True
    (event,) = env.events
    records = event["Records"]
    assert [r["body"] for r in records] == ["one", "two", "three"]
    arn = env.admin.get_queue_attributes(QueueUrl=env.queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for r in records:
        assert set(r) >= {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
        assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == arn and r["awsRegion"] == "us-east-1"
        assert r["md5OfBody"] == hashlib.md5(r["body"].encode()).hexdigest()
        assert r["attributes"]["ApproximateReceiveCount"] == "1"
        assert r["attributes"]["SentTimestamp"].isdigit()
        assert r["messageAttributes"]["tenant"] == {
            "stringValue": "acme",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    assert counts(env.admin, env.queue) == (0, 0)
    inv, done = [o for o in env.rec.ops if o.f == "lambda.invoke"]
    assert (inv.type, done.type) == ("invoke", "ok")
    assert inv.key == "fn" and inv.process == "fn/lambda"
    assert inv.value["batch_size"] == 3 and inv.value["request_id"] == "req-1"
    assert inv.value["ids"] == [r["messageId"] for r in records]
    assert t.step() is False  # nothing left
    assert t.next_wake() is None


def test_a_handler_that_raises_leaves_every_message_until_the_dlq_takes_them(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    admin = plain_session(endpoints).client("sqs")
    queue, dlq = with_dlq(admin, "jobs", max_receive_count=2)
    env = Env(endpoints, recorder, queue)
    env.send("a", "b")

    def fail(event: Any, ctx: LambdaContext) -> None:
        raise RuntimeError("boom")

    t = env.trigger(fail)
    assert t.step() is True
    assert counts(admin, queue) == (0, 2)  # nothing deleted: in flight until the visibility timeout
    expire(admin, queue, env.handles())
    assert t.step() is True
    assert len(env.events) == 2
    assert {r["attributes"]["ApproximateReceiveCount"] for r in env.events[1]["Records"]} == {"2"}
    expire(admin, queue, env.handles())
    assert t.step() is False  # a third receive: SQS moved them to the DLQ instead
    assert len(env.events) == 2
    assert counts(admin, queue) == (0, 0)
    assert counts(admin, dlq) == (2, 0)
    done = completions(recorder)
    assert [(o.type, o.error) for o in done] == [("fail", "RuntimeError"), ("fail", "RuntimeError")]
    assert not [o for o in recorder.ops if o.f == "sqs.DeleteMessage"]


def test_a_partial_batch_response_deletes_only_the_successes(env: Env) -> None:
    env.send("ok-1", "bad", "ok-2")

    def partial(event: Any, ctx: LambdaContext) -> dict[str, Any]:
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}

    t = env.trigger(partial, report_batch_item_failures=True)
    t.step()
    assert counts(env.admin, env.queue) == (0, 1)
    (bad,) = [r for r in env.events[0]["Records"] if r["body"] == "bad"]
    deleted = [o.value["sqs_id"] for o in env.rec.ops if o.f == "sqs.DeleteMessage" and o.type == "invoke"]
    assert sorted(deleted) == sorted(r["messageId"] for r in env.events[0]["Records"] if r["body"] != "bad")
    assert completions(env.rec)[-1].value["failed"] == [bad["messageId"]]

    expire(env.admin, env.queue, [bad["receiptHandle"]])
    t.step()
    (again,) = env.events[1]["Records"]
    assert again["body"] == "bad" and again["attributes"]["ApproximateReceiveCount"] == "2"


def test_without_report_batch_item_failures_the_response_is_ignored(env: Env) -> None:
    env.send("x", "y")
    t = env.trigger(
        lambda event, ctx: {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    )
    t.step()
    assert counts(env.admin, env.queue) == (0, 0)


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"messageId": "wrong key"}]},
        {"batchItemFailures": "all of them"},
        "not an object",
    ],
)
def test_an_invalid_partial_batch_response_fails_the_whole_batch(env: Env, response: Any) -> None:
    env.send("x", "y")
    t = env.trigger(lambda event, ctx: response, report_batch_item_failures=True)
    t.step()
    assert counts(env.admin, env.queue) == (0, 2)
    (done,) = completions(env.rec)
    assert (done.type, done.error) == ("fail", "InvalidBatchItemFailures")


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_partial_batch_response_is_a_complete_success(env: Env, response: Any) -> None:
    env.send("x", "y")
    env.trigger(lambda event, ctx: response, report_batch_item_failures=True).step()
    assert counts(env.admin, env.queue) == (0, 0)


def test_a_response_that_is_not_json_is_a_function_error(env: Env) -> None:
    env.send("x")
    env.trigger(lambda event, ctx: object()).step()
    assert counts(env.admin, env.queue) == (0, 1)
    assert completions(env.rec)[0].error == "Runtime.MarshalError"


def test_a_batching_window_gathers_over_several_receives(env: Env) -> None:
    t = env.trigger(lambda event, ctx: None, batch_size=3, batching_window=5.0)
    env.send("a")
    assert t.step() is True  # received, window open: waits for more
    assert env.events == [] and t.next_wake() == pytest.approx(105.0)
    env.clock.advance(1)
    env.send("b")
    t.step()
    assert env.events == []
    env.clock.advance(4)  # the window closes
    assert t.step() is True
    assert [r["body"] for r in env.events[0]["Records"]] == ["a", "b"]
    assert counts(env.admin, env.queue) == (0, 0)


def test_a_full_batch_does_not_wait_for_its_window(env: Env) -> None:
    env.send("a", "b")
    t = env.trigger(lambda event, ctx: None, batch_size=2, batching_window=30.0)
    t.step()
    assert len(env.events) == 1 and len(env.events[0]["Records"]) == 2


def test_batch_limits_are_lambdas(env: Env) -> None:
    with pytest.raises(ValueError, match="batching_window"):
        env.trigger(lambda e, c: None, batch_size=11)
    with pytest.raises(ValueError, match="between 1 and 10"):
        SqsTrigger(lambda e, c: None, env.session, env.queue + ".fifo", batch_size=11, batching_window=1)
    assert env.trigger(lambda e, c: None, batch_size=100, batching_window=1).batch_size == 100


def test_the_driver_runs_it_like_any_agent(env: Env) -> None:
    from harness.system.driving import drive

    env.send(*[f"m{i}" for i in range(12)])
    t = env.trigger(lambda event, ctx: None, batch_size=5)
    drive([t], lambda: counts(env.admin, env.queue) == (0, 0), timeout=30)
    assert sorted(r["body"] for e in env.events for r in e["Records"]) == sorted(f"m{i}" for i in range(12))
    assert all(len(e["Records"]) <= 5 for e in env.events)
