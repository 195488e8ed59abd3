from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.contracts.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
GOLDEN = ROOT / "fixtures" / "golden"


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The repository's contract registry."""
    return Registry.load(CONTRACTS)


def validated_system(ep: Any, rec: Any, registry: Registry, workers: dict[str, Any] | None = None) -> Any:
    """The reference system (as tests/conftest.py builds it) with every agent's
    session validating messages against ``registry``; ``.validators`` holds them."""
    import harness
    from harness.contracts.validate import install
    from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, Supervisor, WorkerLoop, deploy
    from reference_system.audit_loop import AuditLoop
    from tests.conftest import System

    validators = []

    def session(agent: str) -> Any:
        s = harness.session(ep, agent, rec)
        validators.append(install(s, registry))
        return s

    res = deploy(harness.session(ep, "deploy", rec), visibility_timeout=1)
    model = ScriptedModel(seed=7)
    impls = {c: DEFAULT_WORKERS[c]() for c in CAPABILITIES} | (workers or {})
    sup = Supervisor(session("supervisor"), res, model)
    loops = [WorkerLoop(impls[c], session(f"{c}-1"), res, model) for c in CAPABILITIES]
    system = System(ep, rec, res, sup, loops, AuditLoop(session("auditor"), res))
    system.extra["validators"] = validators
    return system
