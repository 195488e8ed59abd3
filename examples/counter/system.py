"""The counter system as a :class:`harness.system.System` (see README.md).

Name it ``examples.counter.system:system``. Options:

- ``workers`` (1): counter agents, ``counter-1`` ... ``counter-<n>``;
- ``intake_class`` / ``counter_class``: import paths of replacements for
  :class:`~examples.counter.agents.Intake` / :class:`~examples.counter.agents.Counter`
  with the same constructor (how the mutants plug in).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from examples.counter.agents import Counter, Intake
from examples.counter.resources import COUNTERS, Resources, deploy, task_states, undeploy
from harness.system import (
    AgentSpec,
    Declarations,
    StateMachine,
    System,
    VersionedItems,
    Workload,
    load_object,
)

STATE_MACHINE = StateMachine.of(
    {"received": ["counted", "rejected"], "counted": ["applied"]},
    initial="received",
    terminal=("applied", "rejected"),
    success=("applied",),
)

DECLARATIONS = Declarations(
    state_machine=STATE_MACHINE,
    versioned=(VersionedItems(table="*-counters", attribute="version", expected=":expected_version"),),
    effects=("increment",),
    fifo_queues=("*-notices.fifo",),
)

#: Amounts a request asks for: valid ones, and two the intake rejects.
AMOUNTS: tuple[int, ...] = (1, 2, 5, 0, -3)
#: The share of generated requests the intake rejects.
INVALID_SHARE = 0.15


def _cls(options: Mapping[str, Any], key: str, default: type) -> Any:
    path = options.get(key)
    return load_object(path) if path else default


def agents(res: Resources | None, options: Mapping[str, Any]) -> list[AgentSpec]:
    intake, counter = _cls(options, "intake_class", Intake), _cls(options, "counter_class", Counter)

    def make(cls: Any) -> Any:
        return lambda env: cls(env)

    out = [AgentSpec("intake-1", make(intake), role="worker")]
    for i in range(1, int(options.get("workers", 1)) + 1):
        out.append(AgentSpec(f"counter-{i}", make(counter), role="worker"))
    return out


def requests(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        counter = rng.choice(COUNTERS)
        amount = rng.choice(AMOUNTS[3:] if rng.random() < INVALID_SHARE else AMOUNTS[:3])
        out.append({"request_id": f"r{seed}-{i}", "counter": counter, "amount": amount})
    return out


def submit(session: Any, res: Resources, request: Mapping[str, Any]) -> str:
    """Send ``request`` to the requests queue, as a client does."""
    rid = str(request["request_id"])
    session.client("sqs").send_message(
        QueueUrl=res.requests_url,
        MessageBody=json.dumps(dict(request), sort_keys=True),
        MessageAttributes={"message_id": {"DataType": "String", "StringValue": f"request:{rid}"}},
    )
    return rid


def strategy(index: int) -> Any:
    """One request with id ``r<index>`` (shrinks to 1 added to the first counter)."""
    from hypothesis import strategies as st

    return st.builds(
        lambda counter, amount: {"request_id": f"r{index}", "counter": counter, "amount": amount},
        st.sampled_from(COUNTERS),
        st.sampled_from(AMOUNTS),
    )


def _fault_plan(seed: int) -> Any:
    from examples.counter.plan import fault_plan

    return fault_plan(seed)


system = System(
    name="counter",
    deploy=deploy,
    agents=agents,
    workload=Workload(
        requests=requests,
        submit=submit,
        strategy=strategy,
        describe=lambda r: f"{r['request_id']}: {r['counter']} += {r['amount']}",
    ),
    task_states=task_states,
    declarations=DECLARATIONS,
    options={"workers": 1},
    dump_resources=lambda r: r.to_json(),
    load_resources=Resources.from_json,
    undeploy=undeploy,
    fault_plan=_fault_plan,
)
