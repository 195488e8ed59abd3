"""The reference system deployed on a backend and running in real time: each
agent in a thread of its own, crashed agents restarted, every call recorded
through instrumented sessions with the fault plan injected."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness.backends.endpoints import Endpoints
from harness.faults.injector import AgentCrash, FaultInjector
from harness.faults.plan import FaultPlan
from harness.history.model import INFO
from harness.history.recorder import Recorder
from harness.sim.case import System, load_object
from harness.sim.checks import AGENT_CRASH


class LiveSystem:
    """Deploy with :meth:`start`, submit requests, :meth:`wait` for them, :meth:`stop`."""

    def __init__(
        self,
        endpoints: Endpoints,
        recorder: Recorder,
        *,
        prefix: str,
        plan: FaultPlan | None = None,
        system: System | None = None,
        seed: int = 0,
        workers: int = 1,
        visibility_timeout: int = 5,
    ) -> None:
        self.endpoints = endpoints
        self.recorder = recorder
        self.prefix = prefix
        self.plan = plan or FaultPlan(seed=seed)
        self.system = system or System()
        self.seed = seed
        self.workers = workers
        self.visibility_timeout = visibility_timeout
        self.injector = FaultInjector(self.plan, recorder)
        self.submitted: list[str] = []
        self.resources: Any = None
        self.supervisor: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._agents: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------

    def session(self, agent: str) -> Any:
        from harness.instrument.session import session

        s = session(self.endpoints, agent, self.recorder)
        self.injector.install(s)
        return s

    def start(self) -> LiveSystem:
        from harness.faults.model import FaultyModel
        from harness.instrument.session import plain_session
        from reference_system import (
            CAPABILITIES,
            DEFAULT_WORKERS,
            ScriptedModel,
            Supervisor,
            WorkerLoop,
            deploy,
        )
        from reference_system.audit_loop import AuditLoop

        self.resources = deploy(
            plain_session(self.endpoints), self.prefix, visibility_timeout=self.visibility_timeout
        )
        model = ScriptedModel(seed=self.seed)
        sup_cls = load_object(self.system.supervisor) if self.system.supervisor else Supervisor
        loop_cls = load_object(self.system.worker_loop) if self.system.worker_loop else WorkerLoop

        def make_supervisor() -> Any:
            sup = sup_cls(
                self.session("supervisor"), self.resources, FaultyModel(model, self.injector, "supervisor")
            )
            sup.recover()
            self.supervisor = sup
            return sup

        makers: dict[str, Callable[[], Any]] = {"supervisor": make_supervisor}
        for cap in CAPABILITIES:
            factory = (
                load_object(self.system.workers[cap]) if cap in self.system.workers else DEFAULT_WORKERS[cap]
            )
            for i in range(1, self.workers + 1):
                name = f"{cap}-{i}"
                makers[name] = lambda f=factory, n=name: loop_cls(
                    f(), self.session(n), self.resources, FaultyModel(model, self.injector, n), agent=n
                )
        makers["auditor"] = lambda: AuditLoop(self.session("auditor"), self.resources)
        for name, make in makers.items():
            self._agents[name] = make()
            t = threading.Thread(target=self._loop, args=(name, make), name=f"harness-{name}", daemon=True)
            self._threads.append(t)
        for t in self._threads:
            t.start()
        return self

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

    def submit(self, request: Any = None, *, topic: str = "heat pumps", token_budget: int = 4000) -> str:
        """Submit ``request`` (a BriefRequest), or one made from ``topic`` and
        ``token_budget``; returns its task id."""
        from reference_system.messages import BriefRequest
        from reference_system.runner import retry

        if request is None:
            request = BriefRequest(
                request_id=f"{self.prefix}-r{len(self.submitted)}", topic=topic, token_budget=token_budget
            )
        with self._lock:
            sup = self.supervisor
        retry(lambda: sup.submit(request))
        self.submitted.append(request.request_id)
        return str(request.request_id)

    def task_states(self) -> dict[str, str]:
        from harness.instrument.session import plain_session
        from reference_system.resources import task_states

        return task_states(plain_session(self.endpoints), self.resources)

    def wait(self, timeout: float = 60.0, poll: float = 0.2) -> bool:
        """Wait until every submitted request is done or failed; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.task_states()
            if all(states.get(t) in ("done", "failed") for t in self.submitted):
                return True
            time.sleep(poll)
        return False

    # -- the agents' threads -----------------------------------------------------------

    def _loop(self, name: str, make: Callable[[], Any]) -> None:
        from reference_system.runner import step_safely

        agent = self._agents[name]
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
                    with self._lock:
                        agent = make()
                    break
                except Exception:  # could not even start (recovery failed): try again soon
                    self._stop.wait(0.5)
