"""Sessions and clients for the simulator's agents, made once per process.

Making a boto3 session and its clients costs about as much as simulating a
whole request (~30 ms each, a dozen per run), and property tests run the
simulator hundreds of times. The simulator runs on in-process moto, where every client
reaches the current backend, so an agent's clients can outlive one run: each
run rebinds the agent's instrumentation to that run's recorder and
interceptors, and resets what it remembers (receipt handles).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from harness.backends.endpoints import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.session import Instrumentation, InstrumentedSession, Interceptor, plain_session


class _Pooled(Instrumentation):
    """An agent's instrumentation, rebound to each run."""

    def rebind(self, recorder: Recorder, interceptors: Sequence[Interceptor], versioned: Any = None) -> None:
        if versioned != getattr(self, "_versioned", None):
            from harness.instrument.extract import build_extractors
            from harness.instrument.session import versioning

            self._versioned = versioned
            self._extractors = build_extractors(self._key_attrs, versioning(versioned))
        self.recorder = recorder
        self.interceptors = list(interceptors)
        self.observers = []
        self.stampers = []
        self._receipts = {}


class SimSession:
    """What an agent of the simulated system gets as its boto3 Session: the
    same surface the reference system uses (``client``, ``recorder``,
    ``agent``, ``add_interceptor``)."""

    def __init__(
        self, agent: str, inst: _Pooled, clients: dict[str, Any], session: InstrumentedSession
    ) -> None:
        self._agent = agent
        self._inst = inst
        self._clients = clients
        self._session = session

    @property
    def agent(self) -> str:
        return self._agent

    @property
    def recorder(self) -> Recorder:
        return self._inst.recorder

    @property
    def instrumentation(self) -> Instrumentation:
        return self._inst

    def add_interceptor(self, interceptor: Interceptor) -> None:
        self._inst.interceptors.append(interceptor)

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # anything unusual gets a fresh client
            return self._session.client(service, *args, **kwargs)
        c = self._clients.get(service)
        if c is None:
            c = self._clients[service] = self._session.client(service)
        return c


class _Entry:
    __slots__ = ("inst", "session", "clients")

    def __init__(self, inst: _Pooled, session: InstrumentedSession) -> None:
        self.inst = inst
        self.session = session
        self.clients: dict[str, Any] = {}


class SessionPool:
    """Per agent name, one instrumented session and its clients; one plain
    session for set-up work. Only for in-process moto endpoints."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._plain: dict[str, _PlainClients] = {}

    def session(
        self,
        ep: Endpoints,
        agent: str,
        recorder: Recorder,
        interceptors: Sequence[Interceptor],
        versioned: Any = None,
    ) -> SimSession:
        """``agent``'s session, recording into ``recorder`` through ``interceptors``."""
        key = (_endpoint_key(ep), agent)
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                inst = _Pooled(recorder, agent, process=agent)
                e = self._entries[key] = _Entry(inst, InstrumentedSession(ep, inst))
        e.inst.rebind(recorder, interceptors, versioned)
        return SimSession(agent, e.inst, e.clients, e.session)

    def plain(self, ep: Endpoints) -> _PlainClients:
        """An uninstrumented session (clients cached) for deploying and inspecting."""
        key = _endpoint_key(ep)
        with self._lock:
            p = self._plain.get(key)
            if p is None:
                p = self._plain[key] = _PlainClients(ep)
            return p


class _PlainClients:
    def __init__(self, ep: Endpoints) -> None:
        self._session = plain_session(ep)
        self._clients: dict[str, Any] = {}

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return self._session.client(service, *args, **kwargs)
        c = self._clients.get(service)
        if c is None:
            c = self._clients[service] = self._session.client(service)
        return c


def _endpoint_key(ep: Endpoints) -> str:
    """The endpoints, and which moto answers: a client reaches in-process moto
    through the stubber registered when the client was made, so if moto has
    been imported afresh (a test runner that restores ``sys.modules``), the
    clients made before would talk past it."""
    import moto.core.models

    return f"{ep.to_json()}|{id(moto.core.models.botocore_stubber)}"


#: The process-wide pool the simulator uses.
POOL = SessionPool()
