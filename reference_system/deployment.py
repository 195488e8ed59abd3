"""``harness deploy`` of the reference system: its resources and, optionally,
its Step Functions orchestration."""

from __future__ import annotations

import json


def deploy_all(
    session: object,
    prefix: str,
    *,
    tags: dict[str, str],
    state_machine: bool = False,
    role_arn: str | None = None,
    visibility_timeout: int | None = None,
) -> dict[str, object]:
    """Deploy the reference system (and optionally its state machine); returns a JSON-ready summary."""
    from reference_system.resources import deploy
    from reference_system.sfn import Timeouts

    if visibility_timeout is None:
        visibility_timeout = Timeouts().heartbeat + 30 if state_machine else 30

    res = deploy(session, prefix, visibility_timeout=visibility_timeout, tags=tags)
    summary: dict[str, object] = {"resources": json.loads(res.to_json()), "tags": tags}
    if state_machine:
        from reference_system.sfn import deploy_state_machine

        summary["state_machine_arn"] = deploy_state_machine(session, res, role_arn=role_arn, tags=tags)
    return summary
