from __future__ import annotations

import contextlib
from typing import Any

import pytest

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session
from harness.lambdas import LambdaContext, LambdaTimeout
from tests.lambdas.helpers import completions, counts, make_queue
from tests.lambdas.test_sqs_trigger import Env


@pytest.fixture
def env(endpoints: Endpoints, recorder: Recorder) -> Env:
    return Env(endpoints, recorder)


def test_the_context_follows_the_clock_it_was_given(env: Env) -> None:
    seen: dict[str, Any] = {}

    def handler(event: Any, ctx: LambdaContext) -> None:
        seen["start"] = ctx.get_remaining_time_in_millis()
        env.clock.advance(1.25)
        seen["later"] = ctx.get_remaining_time_in_millis()
        seen["ctx"] = ctx

    env.send("x")
    env.trigger(handler, timeout=3.0).step()
    assert (seen["start"], seen["later"]) == (3000, 1750)
    ctx = seen["ctx"]
    assert ctx.aws_request_id == "req-1"
    assert ctx.function_name == "fn" and ctx.function_version == "$LATEST"
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert ctx.memory_limit_in_mb == "128"
    assert ctx.log_group_name == "/aws/lambda/fn"
    assert ctx.log_stream_name.endswith("/[$LATEST]req2")  # the next id names the environment
    env.clock.advance(10)
    assert ctx.get_remaining_time_in_millis() == 0


def test_the_request_ids_come_from_the_ids_given_so_runs_replay(endpoints: Endpoints) -> None:
    runs = []
    admin = plain_session(endpoints).client("sqs")
    for i in range(2):
        env = Env(endpoints, Recorder(), make_queue(admin, f"q{i}"))
        env.send("x")
        env.trigger(lambda e, c: None).step()
        runs.append(
            [o.value["request_id"] for o in env.rec.ops if o.f == "lambda.invoke" and o.type == "invoke"]
        )
    assert runs[0] == runs[1] == ["req-1"]


def test_a_timeout_interrupts_the_handler_at_its_next_aws_call(env: Env) -> None:
    out = make_queue(env.admin, "out")
    reached: list[str] = []

    def slow(event: Any, ctx: LambdaContext) -> None:
        sqs = env.session.client("sqs")
        sqs.send_message(QueueUrl=out, MessageBody="first")
        reached.append("first")
        env.clock.advance(5.0)  # past its 3 s
        sqs.send_message(QueueUrl=out, MessageBody="second")
        reached.append("second")

    env.send("x")
    t = env.trigger(slow, timeout=3.0)
    assert t.step() is True
    assert reached == ["first"]
    assert counts(env.admin, out) == (1, 0)  # the second send never left
    assert counts(env.admin, env.queue) == (0, 1)  # nothing deleted
    (done,) = completions(env.rec)
    assert (done.type, done.error) == ("info", "LambdaTimeout")
    sends = [o for o in env.rec.ops if o.f == "sqs.SendMessage" and o.type != "invoke"]
    assert [(o.type, o.error) for o in sends] == [("ok", None), ("info", "LambdaTimeout")]
    assert t.last is not None and t.last.status == "timeout"


def test_a_handler_that_swallows_its_timeout_still_timed_out(env: Env) -> None:
    def stubborn(event: Any, ctx: LambdaContext) -> dict[str, Any]:
        env.clock.advance(4.0)
        with contextlib.suppress(LambdaTimeout):
            env.session.client("sqs").list_queues()
        return {"ok": True}

    env.send("x")
    env.trigger(stubborn).step()
    assert counts(env.admin, env.queue) == (0, 1)
    assert completions(env.rec)[0].type == "info"


def test_a_handler_computing_past_its_timeout_fails_when_it_returns(env: Env) -> None:
    def busy(event: Any, ctx: LambdaContext) -> None:
        env.clock.advance(3.5)  # no AWS call to stop it at: only its return

    env.send("x")
    env.trigger(busy).step()
    assert counts(env.admin, env.queue) == (0, 1)
    assert completions(env.rec)[0].error == "LambdaTimeout"


def test_within_its_time_the_guard_lets_calls_through(env: Env) -> None:
    def quick(event: Any, ctx: LambdaContext) -> None:
        env.clock.advance(2.9)
        env.session.client("sqs").list_queues()

    env.send("x")
    env.trigger(quick).step()
    assert counts(env.admin, env.queue) == (0, 0)
    assert completions(env.rec)[0].type == "ok"
