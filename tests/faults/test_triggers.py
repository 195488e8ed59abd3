"""Triggers (nth, every, probability, window, max_count) and glob targets."""

from __future__ import annotations

import contextlib
import threading

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError

import harness
from harness.faults import Fault, FaultInjector, FaultPlan, Target, Trigger
from harness.history.recorder import Recorder

from .conftest import Rig, VClock, nemesis_ops


def _pauses(plan: FaultPlan, agents: list[str], clock: VClock | None = None) -> list[tuple[str, bool]]:
    """Step the agents in turn; which steps a pause fault fired on."""
    inj = FaultInjector(plan, Recorder(), clock=clock)
    return [(a, inj.on_step(a) > 0) for a in agents]


def _fired(plan: FaultPlan, n: int, agent: str = "a") -> list[int]:
    """The 1-based steps of ``agent`` a pause fault fired on, out of n."""
    return [i + 1 for i, (_, f) in enumerate(_pauses(plan, [agent] * n)) if f]


def _pause(trigger: Trigger, **kw: object) -> Fault:
    return Fault(kind="pause", trigger=trigger, params={"seconds": 1.0}, **kw)  # type: ignore[arg-type]


# -- counting triggers ----------------------------------------------------------------


def test_no_condition_fires_on_every_match() -> None:
    assert _fired(FaultPlan(faults=[_pause(Trigger())]), 5) == [1, 2, 3, 4, 5]


def test_nth_fires_on_the_nth_match_only() -> None:
    assert _fired(FaultPlan(faults=[_pause(Trigger(nth=3))]), 10) == [3]


def test_every_fires_on_each_kth_match() -> None:
    assert _fired(FaultPlan(faults=[_pause(Trigger(every=3))]), 10) == [3, 6, 9]


def test_max_count_caps_firings() -> None:
    assert _fired(FaultPlan(faults=[_pause(Trigger(max_count=2))]), 6) == [1, 2]
    assert _fired(FaultPlan(faults=[_pause(Trigger(every=2, max_count=2))]), 10) == [2, 4]
    assert _fired(FaultPlan(faults=[_pause(Trigger(max_count=0))]), 5) == []


def test_counts_are_of_matching_events_only() -> None:
    plan = FaultPlan(faults=[_pause(Trigger(nth=2), target=Target(agent="a"))])
    steps = _pauses(plan, ["b", "a", "b", "b", "a", "a"])
    assert [i for i, (_, f) in enumerate(steps) if f] == [4]


def test_nth_call_through_aws(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="drop_request", target=Target(operation="SendMessage"), trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    sqs.receive_message(QueueUrl=url)  # another operation: not counted
    sqs.send_message(QueueUrl=url, MessageBody="1")
    with pytest.raises(ConnectTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="2")
    sqs.send_message(QueueUrl=url, MessageBody="3")
    assert [o.type for o in rig.completions("sqs.SendMessage")] == ["ok", "fail", "ok"]


# -- probability ------------------------------------------------------------------------


def _prob_plan(seed: int, *faults: Fault) -> FaultPlan:
    return FaultPlan(seed=seed, faults=list(faults))


A = _pause(Trigger(probability=0.3), id="a", target=Target(agent="a"))
B = _pause(Trigger(probability=0.5), id="b", target=Target(agent="b"))


def test_probability_same_seed_same_firings() -> None:
    first = _fired(_prob_plan(7, A), 300)
    assert first == _fired(_prob_plan(7, A), 300)
    assert 45 <= len(first) <= 135  # ~0.3 of 300
    assert first != _fired(_prob_plan(8, A), 300)


def test_probability_streams_of_different_faults_are_independent() -> None:
    alone = _fired(_prob_plan(7, A), 200)
    # Another fault, listed before it and drawing on every other step, changes nothing.
    steps = _pauses(_prob_plan(7, B, A), ["a", "b"] * 200)
    a_steps = [fired for agent, fired in steps if agent == "a"]
    assert [i + 1 for i, fired in enumerate(a_steps) if fired] == alone
    assert any(fired for agent, fired in steps if agent == "b")


def test_probability_zero_and_one() -> None:
    assert _fired(FaultPlan(faults=[_pause(Trigger(probability=0.0))]), 50) == []
    assert _fired(FaultPlan(faults=[_pause(Trigger(probability=1.0))]), 50) == list(range(1, 51))


def test_probability_through_aws_is_repeatable() -> None:
    """Two runs of the same calls under the same plan inject the same faults."""
    plan = FaultPlan(
        seed=11,
        faults=[
            Fault(
                id="drops",
                kind="drop_request",
                target=Target(operation="SendMessage"),
                trigger=Trigger(probability=0.4),
            ),  # fmt: skip
            Fault(
                id="throttles",
                kind="throttle",
                target=Target(operation="GetQueueAttributes"),
                trigger=Trigger(probability=0.4),
            ),  # fmt: skip
        ],
    )

    def run() -> list[tuple[str, str, str | None]]:
        rec = Recorder()
        with harness.embedded("inprocess") as ep:
            s = harness.session(ep, "w", rec)
            FaultInjector(plan, rec).install(s)
            sqs = s.client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            for i in range(15):
                with contextlib.suppress(ConnectTimeoutError):
                    sqs.send_message(QueueUrl=url, MessageBody=str(i))
                with contextlib.suppress(ClientError):
                    sqs.get_queue_attributes(QueueUrl=url)
        return [(o.type, o.f, o.error) for o in rec.ops if o.type != "invoke"]

    first = run()
    assert first == run()
    assert {"fault.drop_request", "fault.throttle"} <= {f for _, f, _ in first}


# -- window -------------------------------------------------------------------------------


def test_window_on_the_injectors_clock() -> None:
    clock = VClock()
    inj = FaultInjector(
        FaultPlan(faults=[_pause(Trigger(window={"start": 5, "end": 10}))]), Recorder(), clock=clock
    )
    fired = []
    for t in range(15):
        clock.t = t
        if inj.on_step("a"):
            fired.append(t)
    assert fired == [5, 6, 7, 8, 9]


def test_window_without_end_and_nth_within_it() -> None:
    clock = VClock()
    inj = FaultInjector(
        FaultPlan(faults=[_pause(Trigger(nth=2, window={"start": 3}))]), Recorder(), clock=clock
    )
    fired = []
    for t in range(10):
        clock.t = t
        if inj.on_step("a"):
            fired.append(t)
    assert fired == [4]  # the second match inside the window


def test_window_on_aws_calls(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="drop_request", target=Target(operation="SendMessage"),
                  trigger=Trigger(window={"start": 1.0, "end": 2.0})))  # fmt: skip
    sqs = rig.client("sqs")
    outcomes = []
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        rig.clock.t = t
        try:
            sqs.send_message(QueueUrl=url, MessageBody=str(t))
            outcomes.append("ok")
        except ConnectTimeoutError:
            outcomes.append("dropped")
    assert outcomes == ["ok", "ok", "dropped", "dropped", "ok", "ok"]


def test_real_clock_by_default() -> None:
    inj = FaultInjector(FaultPlan(faults=[_pause(Trigger(window={"start": 3600}))]), Recorder())
    assert inj.on_step("a") == 0.0
    inj = FaultInjector(FaultPlan(faults=[_pause(Trigger(window={"start": 0, "end": 3600}))]), Recorder())
    assert inj.on_step("a") == 1.0


# -- glob targets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "agent", "service", "operation", "expected"),
    [
        (Target(), "x", "sqs", "SendMessage", True),
        (Target(agent="research-*"), "research-12", "sqs", "SendMessage", True),
        (Target(agent="research-*"), "write-1", "sqs", "SendMessage", False),
        (Target(agent="*-[0-9]*"), "write-2", "sqs", "SendMessage", True),
        (Target(agent="*-[0-9]*"), "supervisor", "sqs", "SendMessage", False),
        (Target(agent="*-1"), "review-1", "dynamodb", "PutItem", True),
        (Target(agent="*-1"), "review-11", "dynamodb", "PutItem", False),
        (Target(agent="*-1"), "review-12", "dynamodb", "PutItem", False),
        (Target(service="dynamo*", operation="*Item"), "a", "dynamodb", "GetItem", True),
        (Target(service="dynamo*", operation="*Item"), "a", "dynamodb", "Query", False),
        (Target(operation="Send?essage"), "a", "sqs", "SendMessage", True),
        (Target(operation="SendMessage"), "a", "sqs", "sendmessage", False),
    ],
)
def test_target_globs(target: Target, agent: str, service: str, operation: str, expected: bool) -> None:
    assert target.matches(agent, service, operation) is expected


def test_glob_target_on_aws_calls(rig: Rig) -> None:
    rig.table()
    rig.arm(
        Fault(kind="drop_request", target=Target(agent="worker-[12]", service="dynamo*", operation="*Item"))
    )
    for agent, dropped in (("worker-1", True), ("worker-2", True), ("worker-3", False)):
        ddb = rig.client("dynamodb", agent)
        ddb.describe_table(TableName="items")
        try:
            ddb.put_item(TableName="items", Item={"pk": {"S": agent}})
            assert not dropped
        except ConnectTimeoutError:
            assert dropped
    assert [n.key for n in nemesis_ops(rig.recorder)] == [
        "worker-1:dynamodb.PutItem",
        "worker-2:dynamodb.PutItem",
    ]


def test_counting_triggers_hold_across_threads() -> None:
    """One injector serves every session of a process, whatever thread calls."""
    rec = Recorder()
    inj = FaultInjector(
        FaultPlan(faults=[_pause(Trigger(nth=150), id="once"), _pause(Trigger(every=10), id="tenth")]), rec
    )
    fired: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            p = inj.on_step("a")
            with lock:
                fired.append(p)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ops = nemesis_ops(rec, "pause")
    assert sorted(o.value["fault"] for o in ops).count("once") == 1
    assert [o.value["fault"] for o in ops].count("tenth") == 40
    assert inj.injected == len(ops) == 41
    assert sum(fired) == 41.0
