"""The reference system's message contracts, as the harness's contract
tools read them (``harness contracts ... --source reference_system.contracts:source``,
the default)."""

from __future__ import annotations

from harness.contracts.source import Source


def source() -> Source:
    from reference_system.consumers import CONSUMERS
    from reference_system.messages import MESSAGE_TYPES
    from reference_system.outputs import LINKS, PAYLOAD_TYPES, ROLES

    return Source({**MESSAGE_TYPES, **PAYLOAD_TYPES}, LINKS, ROLES, CONSUMERS)
