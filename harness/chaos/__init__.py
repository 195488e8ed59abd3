"""Chaos Toolkit extension: faults and probes for the reference system.

- :mod:`harness.chaos.actions`: ``apply_fault_plan``, ``clear_fault_plans``,
  ``kill_worker``, ``pause_worker``, ``partition_agent``, ``heal``,
  ``submit_requests``;
- :mod:`harness.chaos.probes`: ``invariants_hold``, ``queue_depth``,
  ``dlq_is_empty``, ``tasks_in_flight``, ``faults_injected``;
- :mod:`harness.chaos.control`: starts and stops the system around an experiment.

``chaos discover --no-install mas-harness`` lists them (Chaos Toolkit imports
the distribution's one top-level package, ``harness``, whose ``discover()``
calls this one). The experiments the harness ships are in
:mod:`harness.chaos.experiments`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["discover"]

#: The distribution Chaos Toolkit discovers.
DISTRIBUTION = "mas-harness"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """The extension's activities (and, with discover_system, the reference system's shape)."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result(DISTRIBUTION, _version(), "mas-harness")
    discovery["activities"].extend(discover_actions("harness.chaos.actions"))
    discovery["activities"].extend(discover_probes("harness.chaos.probes"))
    if discover_system:
        discovery["system"] = _system()
    return discovery


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout without installing
        from harness import __version__

        return __version__


def _system() -> dict[str, Any]:
    """What an experiment can target, without starting anything."""
    from harness.backends.named import BACKENDS
    from harness.chaos.system import SYSTEM_ARGUMENTS
    from harness.faults.plan import CALL_KINDS, PROCESS_KINDS
    from harness.run.main import process_options
    from harness.system import SystemRef

    ref = SystemRef()
    agents = ref.load().agent_specs(None, process_options(ref.load(), 2))
    return {
        "backends": BACKENDS,
        "system": "reference (harness_system names another: pkg.module:obj)",
        "agents": [a.name.replace("-2", "-N") for a in agents if not a.name.endswith("-1")],
        "fault_kinds": sorted(CALL_KINDS | PROCESS_KINDS | {"model"}),
        "control_arguments": SYSTEM_ARGUMENTS,
        "configuration": [
            "harness_backend",
            "harness_system",
            "harness_allowed_accounts",
            "harness_worker",
            "harness_supervisor_reads",
            "harness_out",
        ],
    }
