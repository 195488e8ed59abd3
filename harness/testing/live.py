"""The system under test deployed on a backend and running in real time:
each agent in a thread of its own, crashed agents restarted, every call
recorded through instrumented sessions with the fault plan injected."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from harness.backends.endpoints import Endpoints
from harness.faults.injector import AgentCrash, FaultInjector
from harness.faults.plan import FaultPlan
from harness.history.model import FAIL, INFO, OK
from harness.history.recorder import Recorder
from harness.sim.checks import AGENT_CRASH
from harness.system import AgentEnv, AgentSpec, SystemRef, retry, step_safely

#: The operation a runner records for each request it submitted (key = task id).
TASK_SUBMIT = "task.submit"


class LiveSystem:
    """Deploy with :meth:`start`, submit requests, :meth:`wait` for them, :meth:`stop`."""

    def __init__(
        self,
        endpoints: Endpoints,
        recorder: Recorder,
        *,
        prefix: str,
        plan: FaultPlan | None = None,
        system: SystemRef | None = None,
        seed: int = 0,
        workers: int = 1,
        visibility_timeout: int = 5,
    ) -> None:
        self.endpoints = endpoints
        self.recorder = recorder
        self.prefix = prefix
        self.plan = plan or FaultPlan(seed=seed)
        self.system = system or SystemRef()
        self.sut = self.system.load()
        self.seed = seed
        self.workers = workers
        self.visibility_timeout = visibility_timeout
        self.injector = FaultInjector(self.plan, recorder)
        self.submitted: list[str] = []
        self.resources: Any = None
        self.options: dict[str, Any] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._agents: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._client: Any = None

    # -- life cycle -------------------------------------------------------------

    def session(self, agent: str) -> Any:
        from harness.instrument.session import session

        s = session(self.endpoints, agent, self.recorder, versioned=self.sut.declarations.versioned or None)
        self.injector.install(s)
        return s

    def start(self) -> LiveSystem:
        from harness.faults.model import FaultyModel
        from harness.instrument.session import plain_session, session

        sut = self.sut
        self.resources = sut.deploy(
            plain_session(self.endpoints), self.prefix, visibility_timeout=self.visibility_timeout
        )
        model = sut.model(self.seed) if sut.model is not None else None
        scale = {"workers": self.workers} if "workers" in sut.options else {}
        self.options = sut.merged({**scale, **self.system.options})
        # The client is outside the system: recorded, never faulted.
        self._client = session(self.endpoints, "client", self.recorder)

        def factory(spec: AgentSpec) -> Callable[[], Any]:
            name = spec.name

            def make() -> Any:
                agent = spec.make(
                    AgentEnv(
                        name=name,
                        session=self.session(name),
                        resources=self.resources,
                        model=FaultyModel(model, self.injector, name) if model is not None else None,
                        clock=lambda: time.monotonic() + self.injector.clock_skew(name),
                        ids=lambda: uuid.uuid4().hex,
                        seed=self.seed,
                        options=self.options,
                    )
                )
                with self._lock:
                    self._agents[name] = agent
                return agent

            return make

        for spec in sut.agent_specs(self.resources, self.options):
            make = factory(spec)
            make()
            t = threading.Thread(
                target=self._loop, args=(spec.name, make), name=f"harness-{spec.name}", daemon=True
            )
            self._threads.append(t)
        for t in self._threads:
            t.start()
        return self

    def agent(self, name: str) -> Any:
        """Agent ``name``'s current incarnation."""
        with self._lock:
            return self._agents[name]

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def __enter__(self) -> LiveSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- work ---------------------------------------------------------------------

    def submit(self, request: Any = None, **fields: Any) -> str:
        """Submit ``request`` (one of the system's requests), or one made from
        ``fields`` (with a fresh ``request_id``), or else the seeded
        workload's next one; returns its task id."""
        wl = self.sut.workload
        n = len(self.submitted)
        if request is None and fields:
            request = wl.from_json({"request_id": f"{self.prefix}-r{n}", **fields})
        elif request is None:
            request = wl.requests(n + 1, self.seed)[n]
        tid = wl.request_id(request)
        try:
            retry(lambda: wl.submit(self._client, self.resources, request))
        except Exception as e:
            self.recorder.record("client", FAIL, TASK_SUBMIT, tid, {"error": f"{type(e).__name__}: {e}"})
            raise
        self.recorder.record("client", OK, TASK_SUBMIT, tid, None, agent="client")
        self.submitted.append(tid)
        return str(tid)

    def task_states(self) -> dict[str, str]:
        from harness.instrument.session import plain_session

        return dict(self.sut.task_states(plain_session(self.endpoints), self.resources))

    def wait(self, timeout: float = 60.0, poll: float = 0.2) -> bool:
        """Wait until every submitted request reached a terminal state; False on timeout."""
        sm = self.sut.declarations.state_machine
        terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.task_states()
            if all(states.get(t) in terminal for t in self.submitted):
                return True
            time.sleep(poll)
        return False

    # -- the agents' threads -----------------------------------------------------------

    def _loop(self, name: str, make: Callable[[], Any]) -> None:
        agent = self.agent(name)
        while not self._stop.is_set():
            try:
                pause = self.injector.on_step(name)
                if pause:
                    self._stop.wait(pause)
                    continue
                if not step_safely(agent):
                    self._stop.wait(0.02)
                continue
            except AgentCrash:
                pass
            except Exception as e:  # a bug in the agent: it dies, as its process would
                self.recorder.record(
                    name, INFO, AGENT_CRASH, name, {"error": f"{type(e).__name__}: {e}"}, agent=name
                )
            delay = self.injector.restart_delay(name)
            if delay is None or self._stop.wait(delay):
                return
            while not self._stop.is_set():
                try:
                    agent = make()
                    break
                except Exception:  # could not even start (recovery failed): try again soon
                    self._stop.wait(0.5)
