"""Simulated long polls: an idle agent sleeps until a queue it polls changes."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from harness.sim import SimConfig, Simulation
from harness.sim.simulation import MAX_IDLE
from harness.sim.wakeups import Wakeups

Q1, Q2 = "http://sqs/q1", "http://sqs/q2"


class _Call:
    def __init__(self, agent: str, service: str, operation: str, **params: Any) -> None:
        self.agent, self.service, self.operation, self.params = agent, service, operation, params


def _saw(w: Wakeups, call: _Call, fail: bool = False) -> None:
    def proceed() -> str:
        if fail:
            raise TimeoutError("lost ack")
        return "ok"

    with contextlib.suppress(TimeoutError):
        w.intercept(call, proceed)


def _parked_on(w: Wakeups, agent: str, *queues: str) -> Any:
    w.begin_step(agent)
    for q in queues:
        _saw(w, _Call(agent, "sqs", "ReceiveMessage", QueueUrl=q))
    return w.park(agent)


def test_a_send_to_a_polled_queue_wakes_the_agent() -> None:
    w = Wakeups()
    parked = _parked_on(w, "worker", Q1)
    assert not w.woken(parked)
    _saw(w, _Call("other", "sqs", "SendMessage", QueueUrl=Q1))
    assert w.woken(parked)


def test_a_send_elsewhere_or_a_receive_does_not() -> None:
    w = Wakeups()
    parked = _parked_on(w, "worker", Q1)
    _saw(w, _Call("other", "sqs", "SendMessage", QueueUrl=Q2))
    _saw(w, _Call("other", "sqs", "ReceiveMessage", QueueUrl=Q1))
    _saw(w, _Call("other", "dynamodb", "PutItem", TableName="t"))
    assert not w.woken(parked)


def test_a_failed_send_may_have_been_applied_and_wakes() -> None:
    w = Wakeups()
    parked = _parked_on(w, "worker", Q1)
    _saw(w, _Call("other", "sqs", "SendMessageBatch", QueueUrl=Q1), fail=True)
    assert w.woken(parked)


def test_a_publish_wakes_the_subscribed_queues_only() -> None:
    w = Wakeups({"arn:topic": {Q2}})
    on_q1, on_q2 = _parked_on(w, "a", Q1), _parked_on(w, "b", Q2)
    _saw(w, _Call("sup", "sns", "Publish", TopicArn="arn:topic"))
    assert not w.woken(on_q1) and w.woken(on_q2)


def test_a_publish_to_an_unknown_topic_wakes_everyone() -> None:
    w = Wakeups({"arn:topic": {Q2}})
    on_q1 = _parked_on(w, "a", Q1)
    _saw(w, _Call("sup", "sns", "Publish", TopicArn="arn:elsewhere"))
    assert w.woken(on_q1)


def test_messages_held_back_for_a_polled_queue_wake_it() -> None:
    w = Wakeups()
    parked = _parked_on(w, "worker", Q1)
    assert not w.woken(parked, pending=["q2"])  # the fault injector names queues
    assert w.woken(parked, pending=["q1"])


def test_a_delete_on_a_fifo_queue_frees_the_next_message_of_its_group() -> None:
    w = Wakeups()
    fifo = "http://sqs/progress.fifo"
    parked = _parked_on(w, "supervisor-2", fifo, Q1)
    _saw(w, _Call("other", "sqs", "DeleteMessage", QueueUrl=Q1))  # standard queue: nothing freed
    assert not w.woken(parked)
    _saw(w, _Call("supervisor", "sqs", "DeleteMessage", QueueUrl=fifo))
    assert w.woken(parked)


def test_each_step_starts_with_nothing_polled() -> None:
    w = Wakeups()
    _parked_on(w, "worker", Q1)
    parked = _parked_on(w, "worker")  # this step polled nothing
    _saw(w, _Call("other", "sqs", "SendMessage", QueueUrl=Q1))
    assert not w.woken(parked)


def test_an_idle_system_polls_at_the_long_poll_pace() -> None:
    """Once everything is done, a minute of virtual time costs each agent
    about one poll per MAX_IDLE seconds, not one per scheduling step."""
    from reference_system.messages import BriefRequest

    req = BriefRequest(request_id="r0", topic="heat pumps", token_budget=4000)
    with Simulation(SimConfig(seed=3, workload=[req], auditor=False)) as sim:
        sim.submit()
        assert sim.run() == "finished"
        # The idle backoff ramps up over the first MAX_IDLE seconds; then count.
        ramp = sim.clock.now() + 2 * MAX_IDLE
        while sim.clock.now() < ramp:
            sim.step()
        start, t0 = len(sim.ops), sim.clock.now()
        while sim.clock.now() < t0 + 60:
            sim.step()
        receives = Counter(
            o.process for o in sim.ops[start:] if o.type == "invoke" and o.f == "sqs.ReceiveMessage"
        )
    for worker in ("research-1", "write-1", "review-1"):
        assert 60 / MAX_IDLE - 1 <= receives[worker] <= 60 / MAX_IDLE + 4, receives


def test_a_paused_agent_sleeps_its_pause_out_whatever_arrives() -> None:
    from harness.faults.plan import Fault, FaultPlan, Target, Trigger
    from reference_system.messages import BriefRequest

    pause = Fault(
        kind="pause", target=Target(agent="research-1"), trigger=Trigger(nth=2), params={"seconds": 100}
    )
    req = BriefRequest(request_id="r0", topic="heat pumps", token_budget=4000)
    with Simulation(
        SimConfig(seed=3, workload=[req], auditor=False, plan=FaultPlan(seed=1, faults=[pause]))
    ) as sim:
        slot = sim.slot("research-1")
        sim.deliver("research-1")  # finds nothing: parked on its queue
        assert slot.parked is not None
        sim.clock.advance_to(slot.ready_at)
        while slot.steps < 2:  # its second step is the pause
            sim.step()
        start = len(sim.ops)
        sim.submit()  # research subtasks arrive on its queue at once
        while sim.clock.now() < 60:
            sim.step()
        early = [o for o in sim.ops[start:] if o.process == "research-1" and o.f == "sqs.ReceiveMessage"]
    assert early == []


def test_a_submitted_request_is_dispatched_without_waiting_for_a_back_off() -> None:
    from reference_system.messages import BriefRequest

    req = BriefRequest(request_id="r0", topic="heat pumps", token_budget=4000)
    with Simulation(SimConfig(seed=3, workload=[req], auditor=False)) as sim:
        for _ in range(6):  # the supervisor idles until its back-off is long
            sim.deliver("supervisor")
        t0 = sim.clock.now()
        sim.submit()
        while "dispatched" not in {
            o.value.get("to") for o in sim.ops if o.f == "state.transition" and o.value
        }:
            sim.step()
        assert sim.clock.now() - t0 < 1.0
