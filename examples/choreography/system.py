"""The choreography as a :class:`harness.system.System` (see README.md).

Name it ``examples.choreography.system:system``. Its agents are Lambda
functions run by :class:`harness.lambdas.SqsTrigger` (an SQS event source
mapping with ReportBatchItemFailures): ``intake-<n>``, ``pricing-<n>``,
``stock-<n>``, ``fulfil-<n>``. Options:

- ``workers`` (1): concurrent pollers per function;
- ``batch_size`` (5): records per invocation;
- ``report_failures`` (True): whether the mappings read partial batch responses;
- ``shop_class``: the import path of a :class:`~examples.choreography.handlers.Shop`
  subclass (how the mutants plug in).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from examples.choreography.handlers import Shop
from examples.choreography.resources import STOCK, Resources, deploy, task_states
from harness.faults.defaults import default_plan
from harness.faults.plan import FaultPlan
from harness.lambdas import SqsTrigger
from harness.system import (
    AgentEnv,
    AgentSpec,
    Declarations,
    StateMachine,
    System,
    VersionedItems,
    Workload,
    load_object,
)

STATE_MACHINE = StateMachine.of(
    {
        "placed": ["priced", "reserved"],
        "priced": ["ready"],
        "reserved": ["ready"],
        "ready": ["done"],
    },
    initial="placed",
    terminal=("done",),
    success=("done",),
)

VERSIONED = (
    VersionedItems(table="*-orders", attribute="rev", expected=":expected_rev"),
    VersionedItems(table="*-stock", attribute="rev", expected=":expected_rev"),
)

DECLARATIONS = Declarations(
    state_machine=STATE_MACHINE,
    versioned=VERSIONED,
    effects=("charge",),
    # The bus's rules feed the handlers' queues (see resources.ROUTES).
    fanout={"bus": ("pricing", "stock", "fulfil")},
)


FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("intake", "orders"),
    ("pricing", "pricing"),
    ("stock", "stock"),
    ("fulfil", "fulfil"),
)


def agents(res: Resources | None, options: Mapping[str, Any]) -> list[AgentSpec]:
    path = options.get("shop_class")
    cls = load_object(path) if path else Shop
    report = bool(options.get("report_failures", True))
    batch = int(options.get("batch_size", 5))

    def make(function: str, queue: str) -> Any:
        def build(env: AgentEnv) -> SqsTrigger:
            shop = cls(env)
            return SqsTrigger.for_agent(
                env,
                getattr(shop, function),
                env.resources.queues[queue],
                batch_size=batch,
                report_batch_item_failures=report,
            )

        return build

    return [
        AgentSpec(f"{function}-{i}", make(function, queue), role="worker")
        for function, queue in FUNCTIONS
        for i in range(1, int(options.get("workers", 1)) + 1)
    ]


def requests(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "order_id": f"o{seed}-{i}",
            "sku": rng.choice(sorted(STOCK)),
            "qty": rng.randint(1, 3),
            "card": f"card-{rng.randint(1000, 9999)}",
        }
        for i in range(n)
    ]


def submit(session: Any, res: Resources, order: Mapping[str, Any]) -> str:
    """Send ``order`` to the orders queue, as the shop's front end does."""
    oid = str(order["order_id"])
    session.client("sqs").send_message(
        QueueUrl=res.queues["orders"],
        MessageBody=json.dumps(dict(order), sort_keys=True),
        MessageAttributes={"message_id": {"DataType": "String", "StringValue": f"order:{oid}"}},
    )
    return oid


def strategy(index: int) -> Any:
    """One order with id ``o<index>``."""
    from hypothesis import strategies as st

    return st.builds(
        lambda sku, qty: {"order_id": f"o{index}", "sku": sku, "qty": qty, "card": f"card-{index}"},
        st.sampled_from(sorted(STOCK)),
        st.integers(1, 3),
    )


def fault_plan(seed: int = 0) -> FaultPlan:
    """The default plan, fault for fault, with the supervisor's pause (this
    system has none) aimed at the stock function instead."""
    plan = default_plan(seed)
    names = [a.name for a in agents(None, {"workers": 1})]
    faults = []
    for f in plan.faults:
        if not any(fnmatchcase(n, f.target.agent) for n in names):
            f = f.model_copy(update={"target": f.target.model_copy(update={"agent": "stock-1"})})
        faults.append(f)
    return plan.model_copy(update={"faults": faults})


def _undeploy(session: Any, res: Resources) -> None:
    sqs, ddb = session.client("sqs"), session.client("dynamodb")
    for url in res.queues.values():
        sqs.delete_queue(QueueUrl=url)
    for t in (res.orders_table, res.stock_table, res.payments_table):
        ddb.delete_table(TableName=t)


system = System(
    name="choreography",
    deploy=deploy,
    agents=agents,
    workload=Workload(
        requests=requests,
        submit=submit,
        request_id=lambda r: str(r["order_id"]),
        strategy=strategy,
        describe=lambda r: f"{r['order_id']}: {r['qty']} x {r['sku']}",
    ),
    task_states=task_states,
    declarations=DECLARATIONS,
    options={"workers": 1, "batch_size": 5, "report_failures": True},
    dump_resources=lambda r: r.to_json(),
    load_resources=Resources.from_json,
    undeploy=_undeploy,
    fault_plan=fault_plan,
)
