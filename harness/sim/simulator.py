"""The deterministic simulator: one thread steps every agent of the reference
system on moto in-process, a seeded scheduler picks the next step, and a
virtual clock stands in for time. The same seed and plan give the same
history, byte for byte."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import embedded
from harness.faults.injector import AgentCrash, FaultInjector
from harness.faults.model import FaultyModel
from harness.faults.plan import FaultPlan
from harness.history.jsonl import write_history
from harness.history.model import Op
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session, session
from harness.run.invariants import Invariant, all_terminal, no_double_effects
from harness.sim.clock import VirtualClock
from harness.sim.latency import AwsLatency, SlowModel
from reference_system.runner import retry, step_safely

#: Idle agents back off from MIN to MAX seconds (doubling), as real pollers do.
MIN_BACKOFF, MAX_BACKOFF = 0.05, 1.0

WorkerFactory = Callable[[], Any]


@dataclass
class SimConfig:
    seed: int = 1
    requests: int = 10
    workers: int = 1
    plan: FaultPlan | None = None
    visibility_timeout: int = 5
    max_virtual_seconds: float = 3600.0
    max_steps: int = 100_000
    tight_fraction: float = 0.1
    #: capability -> factory of a Worker, replacing the reference worker.
    worker_factories: dict[str, WorkerFactory] = field(default_factory=dict)
    #: Replaces the reference Supervisor class (same constructor).
    supervisor_class: Any = None
    #: Explicit scheduling choices (indices into the ready agents, taken
    #: modulo their number) consumed before the seeded generator.
    schedule: Sequence[int] | None = None
    prefix: str = "sim"


@dataclass
class SimResult:
    config: SimConfig
    ops: list[Op]
    invariants: list[Invariant]
    task_states: dict[str, str]
    requests: list[str]
    virtual_seconds: float
    real_seconds: float
    steps: int
    choices: list[int]
    faults_injected: int

    @property
    def ok(self) -> bool:
        return all(i.holds for i in self.invariants)

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_history(self.ops, p)
        return p


@dataclass
class _Slot:
    name: str
    make: Callable[[], Any]
    agent: Any = None
    alive: bool = True
    ready_at: float = 0.0
    backoff: float = MIN_BACKOFF
    restart_at: float | None = None
    steps: int = 0


def simulate(cfg: SimConfig) -> SimResult:
    """Run the reference system under ``cfg`` and return its history and invariants."""
    t0 = time.perf_counter()
    from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, Supervisor, WorkerLoop, deploy
    from reference_system.audit_loop import AuditLoop
    from reference_system.resources import task_states
    from reference_system.workload import requests as make_requests

    plan = cfg.plan or FaultPlan(seed=cfg.seed)
    clock = VirtualClock()
    rng = random.Random(cfg.seed)
    id_rng = random.Random(cfg.seed ^ 0x5EED)
    with clock, embedded("inprocess", seed=cfg.seed) as ep:
        rec = Recorder(clock=clock.now_ns)
        injector = FaultInjector(plan, rec, clock=clock.now, sleep=clock.advance)
        res = deploy(plain_session(ep), cfg.prefix, visibility_timeout=cfg.visibility_timeout)
        base_model = ScriptedModel(seed=cfg.seed)

        def sess(name: str) -> Any:
            s = session(ep, name, rec)
            s.add_interceptor(AwsLatency(clock, random.Random(f"{cfg.seed}:{name}")))
            s.add_interceptor(injector)
            return s

        def model_for(name: str) -> Any:
            return SlowModel(FaultyModel(base_model, injector, name), clock)

        def make_supervisor() -> Any:
            cls = cfg.supervisor_class or Supervisor
            sup = cls(
                sess("supervisor"),
                res,
                model_for("supervisor"),
                ids=lambda: f"{id_rng.getrandbits(64):016x}",
                clock=lambda: clock.now() + injector.clock_skew("supervisor"),
            )
            sup.recover()
            return sup

        def make_worker(cap: str, name: str) -> Callable[[], Any]:
            factory = cfg.worker_factories.get(cap) or DEFAULT_WORKERS[cap]
            return lambda: WorkerLoop(factory(), sess(name), res, model_for(name), agent=name)

        slots = [_Slot("supervisor", make_supervisor)]
        for cap in CAPABILITIES:
            for i in range(1, cfg.workers + 1):
                name = f"{cap}-{i}"
                slots.append(_Slot(name, make_worker(cap, name)))
        slots.append(_Slot("auditor", lambda: AuditLoop(sess("auditor"), res)))
        for s in slots:
            s.agent = s.make()

        reqs = make_requests(cfg.requests, seed=cfg.seed, tight_fraction=cfg.tight_fraction)
        for r in reqs:
            retry(lambda r=r: slots[0].agent.submit(r), sleep=clock.advance, attempts=20, base=0.1)

        sched = _Scheduler(rng, cfg.schedule)
        steps = 0
        while steps < cfg.max_steps and clock.now() < cfg.max_virtual_seconds:
            sup = slots[0]
            if sup.alive and sup.agent.finished:
                break
            now = clock.now()
            for s in slots:
                if not s.alive and s.restart_at is not None and s.restart_at <= now:
                    s.agent, s.alive, s.restart_at, s.ready_at = s.make(), True, None, now
            ready = [s for s in slots if s.alive and s.ready_at <= now]
            if not ready:
                wake = [s.ready_at for s in slots if s.alive] + [
                    s.restart_at for s in slots if not s.alive and s.restart_at is not None
                ]
                if not wake:
                    break  # everyone is dead for good
                clock.advance_to(min(wake))
                continue
            slot = ready[sched.pick(len(ready))]
            steps += 1
            slot.steps += 1
            try:
                pause = injector.on_step(slot.name)
                if pause:
                    slot.ready_at = now + pause
                    continue
                did = step_safely(slot.agent)
            except AgentCrash:
                slot.alive = False
                delay = injector.restart_delay(slot.name)
                slot.restart_at = None if delay is None else clock.now() + delay
                continue
            if did:
                slot.backoff = MIN_BACKOFF
                slot.ready_at = clock.now()
            else:
                slot.ready_at = clock.now() + slot.backoff
                slot.backoff = min(slot.backoff * 2, MAX_BACKOFF)
        states = task_states(plain_session(ep), res)
        virtual = clock.now()
    ops = rec.ops
    ids = [r.request_id for r in reqs]
    return SimResult(
        config=cfg,
        ops=ops,
        invariants=[all_terminal(ids, states), no_double_effects(ops)],
        task_states=states,
        requests=ids,
        virtual_seconds=virtual,
        real_seconds=time.perf_counter() - t0,
        steps=steps,
        choices=sched.choices,
        faults_injected=injector.injected,
    )


class _Scheduler:
    """Chooses among ready agents: from an explicit schedule first, then the seed."""

    def __init__(self, rng: random.Random, schedule: Sequence[int] | None) -> None:
        self.rng = rng
        self.schedule = list(schedule or [])
        self.choices: list[int] = []

    def pick(self, n: int) -> int:
        i = len(self.choices)
        c = self.schedule[i] % n if i < len(self.schedule) else self.rng.randrange(n)
        self.choices.append(c)
        return c
