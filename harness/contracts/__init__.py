"""Message contracts: the registry (``contracts/``), validation at run time,
the compatibility diff (AWS Glue Schema Registry modes), consumer-driven
contracts, and the swap gate.

The gate pulls in Hypothesis and the reference system; it is imported lazily.
"""

from __future__ import annotations

from typing import Any

from harness.contracts.compat import Change, breaking_changes
from harness.contracts.consumers import Consumer, check_consumer, compile_reads
from harness.contracts.errors import ContractError
from harness.contracts.modes import DEFAULT_MODE, MODES, Result, Version, check, compare
from harness.contracts.registry import Registry, contract_schema, drift, export
from harness.contracts.schema import Doc
from harness.contracts.source import Link, Role, Source, load_source

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "Change",
    "Consumer",
    "ContractError",
    "Doc",
    "GateConfig",
    "GateReport",
    "Link",
    "MessageValidator",
    "Registry",
    "Result",
    "Role",
    "Source",
    "Version",
    "breaking_changes",
    "check",
    "check_consumer",
    "check_contracts",
    "compare",
    "compile_reads",
    "contract_schema",
    "drift",
    "export",
    "install",
    "load_source",
    "run_gate",
]

_LAZY = {
    "GateConfig": "harness.contracts.gate",
    "GateReport": "harness.contracts.gate",
    "run_gate": "harness.contracts.gate",
    "MessageValidator": "harness.contracts.validate",
    "install": "harness.contracts.validate",
    "check_contracts": "harness.contracts.validate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.contracts' has no attribute {name!r}")
