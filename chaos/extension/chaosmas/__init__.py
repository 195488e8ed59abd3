"""Chaos Toolkit discovery entry for mas-harness.

Chaos Toolkit maps a distribution to exactly one top-level package and calls
its ``discover()``; mas-harness itself ships two (``harness`` and
``reference_system``), so this one-package distribution stands in for it:

    chaos discover --no-install chaostoolkit-mas-harness

The activities live in ``harness.chaos.actions`` and ``harness.chaos.probes``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """The activities of harness.chaos (and the reference system's shape)."""
    from harness.chaos import discover as harness_discover

    return harness_discover(discover_system=discover_system)
