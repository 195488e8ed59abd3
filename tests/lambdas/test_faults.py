from __future__ import annotations

from typing import Any

import pytest

from harness.backends import Endpoints
from harness.faults.injector import AgentCrash, FaultInjector
from harness.faults.plan import Fault, FaultPlan, Target, Trigger
from harness.history.recorder import Recorder
from harness.lambdas import LambdaContext, LambdaFaults
from tests.lambdas.helpers import completions, counts, expire, make_queue
from tests.lambdas.test_sqs_trigger import Env

INVOKE = Target(agent="fn", service="lambda", operation="Invoke")


@pytest.fixture
def env(endpoints: Endpoints, recorder: Recorder) -> Env:
    return Env(endpoints, recorder)


def plan(env: Env, *faults: Fault) -> FaultInjector:
    return FaultInjector(
        FaultPlan(faults=list(faults)), env.rec, clock=env.clock, sleep=env.clock.advance
    ).install(env.session)


def nemesis(rec: Recorder) -> list[str]:
    return [o.f for o in rec.ops if o.process == "nemesis"]


def test_a_planned_throttle_keeps_the_batch_and_retries_it_after_a_backoff(env: Env) -> None:
    plan(env, Fault(kind="throttle", target=INVOKE, trigger=Trigger(nth=1)))
    env.send("x")
    t = env.trigger(lambda e, c: None, throttle_backoff=1.0)
    assert t.step() is True
    assert env.events == [] and counts(env.admin, env.queue) == (0, 1)
    assert nemesis(env.rec) == ["fault.throttle"]
    assert (completions(env.rec)[0].type, completions(env.rec)[0].error) == ("fail", "ThrottlingException")
    assert t.step() is False  # backing off
    assert t.next_wake() == pytest.approx(101.0)
    env.clock.advance(1.0)
    assert t.step() is True
    (event,) = env.events  # the same batch, not received again
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"
    assert counts(env.admin, env.queue) == (0, 0)


def test_a_throttled_batch_is_let_go_when_its_visibility_timeout_runs_out(env: Env) -> None:
    env.send("x")
    t = env.trigger(lambda e, c: None, faults=LambdaFaults(throttle_every=1))
    t.step()
    assert t.batch and env.events == []
    (msg,) = t.batch
    env.clock.advance(1.0)
    t.step()  # retried after its backoff: throttled again
    env.clock.advance(29.0)  # the queue's default visibility timeout (30 s) has run out
    t.step()
    assert t.batch == []
    assert [o.error for o in completions(env.rec)] == ["TooManyRequestsException"] * 2
    expire(env.admin, env.queue, [msg["ReceiptHandle"]])
    t.step()
    assert t.batch[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert env.events == []


def test_a_cold_start_holds_the_first_batch_only(env: Env) -> None:
    env.send("first")
    t = env.trigger(lambda e, c: None, faults=LambdaFaults(cold_start=2.0))
    assert t.step() is True
    assert env.events == [] and t.next_wake() == pytest.approx(102.0)
    env.clock.advance(1.0)
    assert t.step() is False
    env.clock.advance(1.0)
    assert t.step() is True
    assert len(env.events) == 1
    env.send("second")
    t.step()
    assert len(env.events) == 2  # warm: at once
    assert nemesis(env.rec) == ["fault.lambda_cold_start"]


def test_a_hung_invocation_times_out_and_holds_its_environment_until_its_deadline(env: Env) -> None:
    calls: list[str] = []

    def handler(event: Any, ctx: LambdaContext) -> None:
        env.session.client("sqs").list_queues()
        calls.append(event["Records"][0]["body"])

    t = env.trigger(handler, timeout=3.0, faults=LambdaFaults(timeout_every=2, cold_start=0.5))
    env.send("a")
    t.step()
    env.clock.advance(0.5)
    t.step()
    env.send("b")
    t.step()  # the second invocation hangs
    assert calls == ["a"]
    assert counts(env.admin, env.queue) == (0, 1)
    assert [o.type for o in completions(env.rec)] == ["ok", "info"]
    assert t.next_wake() == pytest.approx(100.5 + 3.0)
    env.send("c")
    assert t.step() is False  # busy until the runtime would have stopped it
    env.clock.advance(3.0)
    assert t.step() is True  # a fresh environment: a cold start again
    assert nemesis(env.rec).count("fault.lambda_cold_start") == 2


@pytest.mark.parametrize(
    ("error", "code"), [("timeout", "ReadTimeoutError"), ("ServiceException", "ServiceException")]
)
def test_a_lost_response_leaves_the_batch_though_the_handler_ran(env: Env, error: str, code: str) -> None:
    out = make_queue(env.admin, "out")
    plan(env, Fault(kind="lose_ack", target=INVOKE, trigger=Trigger(nth=1), params={"error": error}))
    env.send("x")
    env.trigger(
        lambda e, c: env.session.client("sqs").send_message(QueueUrl=out, MessageBody="done") and None
    ).step()
    assert counts(env.admin, out) == (1, 0)
    assert counts(env.admin, env.queue) == (0, 1)
    (done,) = completions(env.rec)
    assert (done.type, done.error) == ("info", code)


def test_a_planned_delay_before_the_handler_does_not_eat_its_timeout(env: Env) -> None:
    plan(env, Fault(kind="delay", target=INVOKE, params={"seconds": 10.0}))
    seen: list[tuple[float, int]] = []
    env.send("x")
    env.trigger(lambda e, c: seen.append((env.clock(), c.get_remaining_time_in_millis()))).step()
    assert seen == [(110.0, 3000)]
    assert counts(env.admin, env.queue) == (0, 0)


def test_a_planned_delay_inside_the_handler_makes_it_time_out(env: Env) -> None:
    plan(
        env,
        Fault(
            kind="delay",
            target=Target(agent="fn", service="sqs", operation="ListQueues"),
            params={"seconds": 4.0},
        ),
    )
    env.send("x")
    env.trigger(lambda e, c: env.session.client("sqs").list_queues() and None).step()
    assert counts(env.admin, env.queue) == (0, 1)
    assert completions(env.rec)[0].error == "LambdaTimeout"


def test_a_planned_crash_after_the_invocation_kills_the_poller_before_it_deletes(env: Env) -> None:
    plan(env, Fault(kind="crash", target=INVOKE, params={"when": "after"}))
    env.send("x")
    t = env.trigger(lambda e, c: None)
    with pytest.raises(AgentCrash):
        t.step()
    assert len(env.events) == 1
    assert counts(env.admin, env.queue) == (0, 1)
