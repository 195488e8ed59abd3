from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.tracing import TracedAgent, TracedModel, Tracing, install
from tests.conftest import System


def build_traced_system(
    ep: Endpoints, rec: Recorder, tracing: Tracing, *, workers: dict[str, Any] | None = None
) -> System:
    """The reference system as tests/conftest.py builds it, with every session,
    agent and the model traced."""
    from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, Supervisor, WorkerLoop, deploy
    from reference_system.audit_loop import AuditLoop

    def traced_session(agent: str) -> Any:
        s = harness.session(ep, agent, rec)
        install(s, tracing)
        return s

    res = deploy(harness.session(ep, "deploy", rec), visibility_timeout=1)
    model = TracedModel(ScriptedModel(seed=7), tracing)
    impls = {c: DEFAULT_WORKERS[c]() for c in CAPABILITIES} | (workers or {})
    sup = TracedAgent(Supervisor(traced_session("supervisor"), res, model), tracing)
    loops = [
        TracedAgent(WorkerLoop(impls[c], traced_session(f"{c}-1"), res, model), tracing) for c in CAPABILITIES
    ]
    audit = TracedAgent(AuditLoop(traced_session("auditor"), res), tracing, "auditor")
    return System(ep, rec, res, sup, loops, audit)


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    with Tracing(service_name="reference-system", otlp=False) as t:
        yield t


@pytest.fixture
def traced_system(endpoints: Endpoints, recorder: Recorder, tracing: Tracing) -> System:
    return build_traced_system(endpoints, recorder, tracing)
