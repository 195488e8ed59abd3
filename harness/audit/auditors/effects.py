"""Repeated side effects: a declared effect performed more than once for the
same logical operation (what idempotency keys exist to prevent)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World


class RepeatedEffectsAuditor:
    """Reported once the run is over (a repeat may come after the output).
    Kinds in ``repeatable`` (what the system declares may happen more than
    once: ``notify`` or ``effect.notify``) are not judged."""

    name = "effects"

    def __init__(self, repeatable: Iterable[str] = ()) -> None:
        self.repeatable = frozenset(str(k).removeprefix("effect.") for k in repeatable)

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        return []

    def finish(self, world: World) -> list[Finding]:
        found = []
        for kind, key in world.effect_order:
            if kind in self.repeatable:
                continue
            ops = world.effects[(kind, key)]
            if len(ops) > 1:
                found.append(
                    Finding(
                        auditor=self.name,
                        kind="repeated_effect",
                        message=f"effect {kind} for {key!r} was performed {len(ops)} times",
                        subject=key,
                        witnesses=tuple(ops),
                        details={"effect": kind, "times": len(ops)},
                    )
                )
        return found
