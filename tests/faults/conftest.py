"""Fixtures for the fault tests: real moto (in-process unless said otherwise),
an instrumented session per agent with one FaultInjector, and a plain session
to read back what really happened."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import harness
from harness.backends import Endpoints
from harness.faults import NEMESIS, Fault, FaultInjector, FaultPlan
from harness.history.model import Op
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session


class VClock:
    """A hand-moved clock for triggers' windows; ``sleep`` records and advances it."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@dataclass
class Rig:
    """One fault plan over one in-process moto: sessions for agents share the injector."""

    endpoints: Endpoints
    recorder: Recorder
    clock: VClock = field(default_factory=VClock)
    crashed: list[str] = field(default_factory=list)
    injector: FaultInjector | None = None

    def arm(self, *faults: Fault, seed: int = 0) -> FaultInjector:
        self.injector = FaultInjector(
            FaultPlan(seed=seed, faults=list(faults)),
            self.recorder,
            clock=self.clock,
            sleep=self.clock.sleep,
            on_crash=self.crashed.append,
        )
        return self.injector

    def session(self, agent: str = "agent") -> Any:
        assert self.injector is not None, "arm() first"
        s = harness.session(self.endpoints, agent, self.recorder)
        self.injector.install(s)
        return s

    def client(self, service: str, agent: str = "agent") -> Any:
        return self.session(agent).client(service)

    def plain(self, service: str) -> Any:
        """An uninstrumented client, for setting up and reading back the truth."""
        return plain_session(self.endpoints).client(service)

    # -- setup helpers -------------------------------------------------------

    def queue(self, name: str = "jobs", **attrs: str) -> str:
        if name.endswith(".fifo"):
            attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true", **attrs}
        return str(self.plain("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])

    def table(self, name: str = "items") -> str:
        self.plain("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    # -- reading the history -------------------------------------------------

    def nemesis(self, kind: str | None = None) -> list[Op]:
        return nemesis_ops(self.recorder, kind)

    def completions(self, f: str, agent: str | None = None) -> list[Op]:
        return [
            o
            for o in self.recorder.ops
            if o.f == f and o.type != "invoke" and (agent is None or o.meta.get("agent") == agent)
        ]


def nemesis_ops(recorder: Recorder, kind: str | None = None) -> list[Op]:
    ops = [o for o in recorder.ops if o.process == NEMESIS]
    # Every injected fault is an info op named after its kind, whatever kind asked.
    assert all(o.type == "info" and o.f.startswith("fault.") for o in ops), ops
    return [o for o in ops if kind is None or o.f == f"fault.{kind}"]


@pytest.fixture
def rig(endpoints: Endpoints, recorder: Recorder) -> Rig:
    return Rig(endpoints, recorder)


@pytest.fixture(scope="module")
def _moto_server() -> Iterator[Endpoints]:
    with harness.embedded("server") as ep:
        yield ep


@pytest.fixture
def server_endpoints(_moto_server: Endpoints) -> Endpoints:
    """moto as a threaded HTTP server on a loopback port (one per module,
    emptied before each test)."""
    assert _moto_server.admin_url
    req = urllib.request.Request(f"{_moto_server.admin_url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
        resp.read()
    return _moto_server
