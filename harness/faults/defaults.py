"""The default fault plan: what `make run` and `harness run --sim` inject when
no plan is given. A correct system passes under it; each fault is mild enough
that work still finishes, and together they cover the fault kinds AWS shows."""

from __future__ import annotations

from harness.faults.plan import Fault, FaultPlan, Target, Trigger


def default_plan(seed: int = 0) -> FaultPlan:
    sqs_receive = Target(service="sqs", operation="ReceiveMessage")
    return FaultPlan(
        seed=seed,
        faults=[
            Fault(
                id="duplicates",
                kind="duplicate_delivery",
                target=sqs_receive,
                trigger=Trigger(probability=0.05),
            ),
            Fault(id="reordering", kind="reorder", target=sqs_receive, trigger=Trigger(probability=0.05)),
            Fault(
                id="lost-acks",
                kind="lose_ack",
                target=Target(agent="*-[0-9]*", service="sqs", operation="SendMessage"),
                trigger=Trigger(probability=0.03),
            ),
            Fault(
                id="throttling",
                kind="throttle",
                target=Target(service="dynamodb"),
                trigger=Trigger(probability=0.02),
            ),
            Fault(
                id="stale-reads",
                kind="stale_read",
                target=Target(service="dynamodb", operation="GetItem"),
                trigger=Trigger(probability=0.3),
            ),
            Fault(
                id="slow-sends",
                kind="delay",
                target=Target(service="sqs", operation="SendMessage"),
                trigger=Trigger(probability=0.05),
                params={"seconds": 0.2},
            ),
            Fault(
                id="worker-crash",
                kind="crash",
                target=Target(agent="*-1", service="dynamodb", operation="PutItem"),
                trigger=Trigger(nth=2),
                params={"when": "after", "restart_after": 5.0},
            ),
            Fault(
                id="bad-model-output",
                kind="model",
                target=Target(service="model", operation="research"),
                trigger=Trigger(probability=0.05),
                params={"mode": "malformed"},
            ),
            Fault(
                id="supervisor-pause",
                kind="pause",
                target=Target(agent="supervisor"),
                trigger=Trigger(nth=20),
                params={"seconds": 2.0},
            ),
        ],
    )
