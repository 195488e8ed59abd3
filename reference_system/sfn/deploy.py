"""Creating (or updating) the state machine, idempotently and tagged."""

from __future__ import annotations

import json
from typing import Any

from reference_system.resources import Resources
from reference_system.sfn.definition import Timeouts, definition

#: Any role does on the emulators; on AWS pass one Step Functions may assume
#: that allows sqs:SendMessage on the capability queues.
EMULATOR_ROLE = "arn:aws:iam::000000000000:role/harness-stepfunctions"


def state_machine_name(prefix: str) -> str:
    return f"{prefix}-brief"


def deploy_state_machine(
    session: Any,
    resources: Resources,
    *,
    timeouts: Timeouts | None = None,
    role_arn: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """The state machine's ARN, created or brought up to date; safe to run any number of times."""
    sfn = session.client("stepfunctions")
    name = state_machine_name(resources.prefix)
    body = json.dumps(definition(timeouts))
    role = role_arn or EMULATOR_ROLE
    tag_map = {"harness:system": "reference", "harness:prefix": resources.prefix, **(tags or {})}
    tag_list = [{"key": k, "value": v} for k, v in tag_map.items()]
    for page in sfn.get_paginator("list_state_machines").paginate():
        for m in page.get("stateMachines", []):
            if m["name"] == name:
                arn = str(m["stateMachineArn"])
                current = sfn.describe_state_machine(stateMachineArn=arn)
                if json.loads(current["definition"]) != json.loads(body) or current["roleArn"] != role:
                    sfn.update_state_machine(stateMachineArn=arn, definition=body, roleArn=role)
                sfn.tag_resource(resourceArn=arn, tags=tag_list)
                return arn
    return str(
        sfn.create_state_machine(name=name, definition=body, roleArn=role, tags=tag_list)["stateMachineArn"]
    )
