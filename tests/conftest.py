from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.backends import Endpoints, embedded
from harness.history.recorder import Recorder


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    """A fresh in-process moto backend."""
    with embedded("inprocess") as ep:
        yield ep


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@dataclass
class System:
    """A deployed reference system, driven step by step in this thread."""

    endpoints: Endpoints
    recorder: Recorder
    resources: Any
    supervisor: Any
    workers: list[Any]
    audit: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agents(self) -> list[Any]:
        return [self.supervisor, *self.workers, self.audit]

    def run(self, timeout: float = 60.0) -> None:
        from reference_system.runner import drive

        drive(self.agents, lambda: self.supervisor.finished, timeout=timeout)

    def effects(self, kind: str | None = None) -> list[Any]:
        return [
            op
            for op in self.recorder.ops
            if op.type == "ok" and op.f.startswith("effect.") and (kind is None or op.f == f"effect.{kind}")
        ]


def build_system(
    ep: Endpoints,
    rec: Recorder,
    *,
    workers: dict[str, Any] | None = None,
    visibility_timeout: int = 1,
    **sup_kw: Any,
) -> System:
    import harness
    from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, Supervisor, WorkerLoop, deploy
    from reference_system.audit_loop import AuditLoop

    res = deploy(harness.session(ep, "deploy", rec), visibility_timeout=visibility_timeout)
    model = ScriptedModel(seed=7)
    impls = {c: DEFAULT_WORKERS[c]() for c in CAPABILITIES} | (workers or {})
    sup = Supervisor(harness.session(ep, "supervisor", rec), res, model, **sup_kw)
    loops = [WorkerLoop(impls[c], harness.session(ep, f"{c}-1", rec), res, model) for c in CAPABILITIES]
    audit = AuditLoop(harness.session(ep, "auditor", rec), res)
    return System(ep, rec, res, sup, loops, audit)


@pytest.fixture
def system(endpoints: Endpoints, recorder: Recorder) -> System:
    return build_system(endpoints, recorder)
