"""Every injected fault is itself an operation of the history: an ``info`` op
of process ``nemesis`` named ``fault.<kind>``, recorded once per injection."""

from __future__ import annotations

import contextlib

from harness.faults import NEMESIS, AgentCrash, Fault, FaultyModel, ModelTimeout, Target, Trigger
from harness.faults.plan import FaultKind
from harness.history.model import INFO
from reference_system.llm import ScriptedModel

from .conftest import Rig


def test_every_fault_kind_is_recorded_as_a_nemesis_info_op(rig: Rig) -> None:
    url = rig.queue()
    rig.table()
    once = Trigger(max_count=1)

    def on(op: str, kind: FaultKind, **params: object) -> Fault:
        return Fault(kind=kind, target=Target(agent="w", operation=op), trigger=once, params=params)

    inj = rig.arm(
        on("CreateTopic", "drop_request"),
        on("ListQueues", "lose_ack"),
        on("ReceiveMessage", "duplicate_delivery"),
        on("ReceiveMessage", "reorder"),
        on("GetQueueAttributes", "delay", seconds=0.1),
        on("ListTables", "throttle"),
        on("GetItem", "stale_read"),
        on("DescribeTable", "partition"),
        on("DeleteItem", "crash", when="before"),
        Fault(kind="crash", target=Target(agent="stepper"), trigger=Trigger(nth=2)),
        Fault(kind="pause", target=Target(agent="stepper"), trigger=once),
        Fault(kind="clock_skew", target=Target(agent="stepper"), params={"seconds": 3}),
        Fault(kind="model", target=Target(agent="w"), trigger=once, params={"mode": "timeout"}),
    )
    s = rig.session("w")
    sqs, ddb, sns = s.client("sqs"), s.client("dynamodb"), s.client("sns")
    rig.plain("sqs").send_message(QueueUrl=url, MessageBody="1")
    rig.plain("sqs").send_message(QueueUrl=url, MessageBody="2")
    for call in (
        lambda: sns.create_topic(Name="t"),
        lambda: sqs.list_queues(),
        lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10),  # reorder: reversed
        lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10),  # duplicate
        lambda: sqs.get_queue_attributes(QueueUrl=url),
        lambda: ddb.list_tables(),
        lambda: ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "version": {"N": "1"}}),
        lambda: ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "version": {"N": "2"}}),
        lambda: ddb.get_item(TableName="items", Key={"pk": {"S": "a"}}),
        lambda: ddb.describe_table(TableName="items"),
        lambda: ddb.delete_item(TableName="items", Key={"pk": {"S": "a"}}),
        lambda: inj.on_step("stepper"),
        lambda: inj.on_step("stepper"),
        lambda: inj.clock_skew("stepper"),
        lambda: FaultyModel(ScriptedModel(), inj, "w").complete("plan", "p", {"topic": "t"}),
    ):
        with contextlib.suppress(Exception, AgentCrash, ModelTimeout):
            call()

    ops = [o for o in rig.recorder.ops if o.process == NEMESIS]
    assert all(o.type == INFO for o in ops)
    kinds = [*FaultKind.__args__, "crash"]  # type: ignore[attr-defined]  # crash: at a call and at a step
    assert sorted(o.f for o in ops) == sorted(f"fault.{k}" for k in kinds)
    assert inj.injected == len(ops) == len(kinds)
    # Each names the fault that fired; AWS-call faults also name the agent's call.
    assert all(o.value and ("fault" in o.value or o.f == "fault.clock_skew") for o in ops)
    call_ops = [
        o for o in ops if o.f not in ("fault.crash", "fault.pause", "fault.clock_skew", "fault.model")
    ]
    assert all(str(o.key).startswith("w:") for o in call_ops)
    # Each fault op comes between its call's invocation and completion.
    for o in call_ops:
        before = [x for x in rig.recorder.ops[: o.index] if x.process != NEMESIS]
        assert before[-1].type == "invoke" and o.key == f"w:{before[-1].f}"
