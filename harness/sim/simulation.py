"""A deterministic run driven one step at a time.

Every agent of the reference system runs on moto in-process, one at a time:
a seeded scheduler (or whoever drives the simulation) picks which agent goes
on, and the agent runs until its next AWS call or the end of its step (see
:mod:`harness.sim.threads`), so agents interleave call by call. A virtual
clock stands in for time. :func:`harness.sim.simulate` drives it to the
end in one call; a stateful test drives it rule by rule (submit, deliver,
duplicate, crash, advance the clock) and checks invariants in between.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from harness.faults.injector import AgentCrash, FaultInjector
from harness.faults.model import FaultyModel
from harness.faults.plan import FaultPlan
from harness.history.model import INFO, Op
from harness.history.recorder import Recorder
from harness.run.invariants import all_terminal, no_double_effects
from harness.sim.checks import AGENT_CRASH
from harness.sim.clock import VirtualClock
from harness.sim.config import SimConfig, SimResult
from harness.sim.latency import AwsLatency, SlowModel
from harness.sim.nemesis import Nemesis, resend_params
from harness.sim.pool import POOL
from harness.sim.threads import Runner, Yielder
from harness.sim.wakeups import Parked, Wakeups, sqs_subscriptions

#: Agents that met an error back off from MIN to MAX seconds (doubling)
#: before trying again. Idle ones back off up to MAX_IDLE, and are woken
#: sooner when a queue they poll changes (a long poll: see
#: :mod:`harness.sim.wakeups`).
MIN_BACKOFF, MAX_BACKOFF = 0.2, 1.6
MAX_IDLE = 6.4

#: Queues the driver may duplicate a message on (standard queues; FIFO ones deduplicate).
DUPLICABLE = ("research", "write", "review", "results", "audit")


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
    idle: bool = False
    #: Set when its last step found nothing to do (see :mod:`harness.sim.wakeups`).
    parked: Parked | None = None
    runner: Runner | None = None


class Simulation:
    """The reference system (or a variant of it) under ``cfg``, step by step.

    Use it as a context manager; nothing is submitted until :meth:`submit`
    (or :meth:`submit_all`). :meth:`run` steps until the supervisor is done.
    """

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.clock = VirtualClock()
        self.rec = Recorder(clock=self.clock.now_ns)
        self.nemesis = Nemesis(self.rec)
        self.steps = 0
        self.submitted: list[str] = []
        self.stopped = ""
        self._stack = ExitStack()
        self._t0 = time.perf_counter()
        self._started = False
        self._sched = _Scheduler(random.Random(cfg.seed), cfg.schedule)
        self._id_rng = random.Random(cfg.seed ^ 0x5EED)
        self._workload: list[Any] = []
        self._restart_after: dict[str, float | None] = {}
        self._ended_tasks: set[str] = set()
        self._moves = 0  # state transitions so far
        self._moves_at_sweep = -1
        self.rec.add_listener(self._watch)

    # -- life cycle ------------------------------------------------------------

    def __enter__(self) -> Simulation:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Simulation:
        from harness.backends import embedded
        from reference_system import deploy
        from reference_system.workload import requests as make_requests

        cfg = self.cfg
        self._t0 = time.perf_counter()
        self._stack.enter_context(self.clock)
        self.ep = self._stack.enter_context(embedded("inprocess", seed=cfg.seed))
        self.plan = cfg.plan or FaultPlan(seed=cfg.seed)
        self.injector = FaultInjector(self.plan, self.rec, clock=self.clock.now, sleep=self.clock.advance)
        self.plain = POOL.plain(self.ep)
        self.res = deploy(self.plain, cfg.prefix, visibility_timeout=cfg.visibility_timeout)
        self.wakeups = Wakeups(sqs_subscriptions(self.plain))
        from reference_system import ScriptedModel

        self._model = ScriptedModel(seed=cfg.seed)
        self.slots = self._slots()
        self._runners = {s.name: Runner(s.name) for s in self.slots}
        self._yielder = Yielder(self._runners)
        self._stack.callback(self._close_runners)  # before the backend goes away
        for s in self.slots:
            s.runner = self._runners[s.name]
            self._start_slot(s)
        self._workload = (
            list(cfg.workload)
            if cfg.workload is not None
            else make_requests(cfg.requests, seed=cfg.seed, tight_fraction=cfg.tight_fraction)
        )
        self._started = True
        return self

    def close(self) -> None:
        self._stack.close()

    def _close_runners(self) -> None:
        for r in self._runners.values():
            r.close()

    # -- agents ----------------------------------------------------------------

    def session(self, name: str) -> Any:
        """``name``'s instrumented session: simulated latency, the plan's faults, the nemesis."""
        latency = AwsLatency(self.clock, random.Random(f"{self.cfg.seed}:{name}"))
        return POOL.session(
            self.ep, name, self.rec, [self._yielder, self.wakeups, latency, self.injector, self.nemesis]
        )

    def _model_for(self, name: str) -> Any:
        return SlowModel(FaultyModel(self._model, self.injector, name), self.clock)

    def _slots(self) -> list[_Slot]:
        from reference_system import CAPABILITIES, DEFAULT_WORKERS, Supervisor, WorkerLoop
        from reference_system.audit_loop import AuditLoop

        cfg = self.cfg

        def make_supervisor(name: str) -> Callable[[], Any]:
            def make() -> Any:
                cls = cfg.supervisor_class or Supervisor
                sup = cls(
                    self.session(name),
                    self.res,
                    self._model_for(name),
                    agent=name,
                    ids=lambda: f"{self._id_rng.getrandbits(64):016x}",
                    clock=lambda: self.clock.now() + self.injector.clock_skew(name),
                )
                sup.recover()
                return sup

            return make

        def make_worker(cap: str, name: str) -> Callable[[], Any]:
            factory = cfg.worker_factories.get(cap) or DEFAULT_WORKERS[cap]
            loop = cfg.worker_loop_class or WorkerLoop
            return lambda: loop(factory(), self.session(name), self.res, self._model_for(name), agent=name)

        slots = [_Slot("supervisor", make_supervisor("supervisor"))]
        for i in range(2, cfg.supervisors + 1):  # replicas: requests go to the first
            slots.append(_Slot(f"supervisor-{i}", make_supervisor(f"supervisor-{i}")))
        for cap in CAPABILITIES:
            for i in range(1, cfg.workers + 1):
                name = f"{cap}-{i}"
                slots.append(_Slot(name, make_worker(cap, name)))
        if cfg.auditor:
            slots.append(_Slot("auditor", lambda: AuditLoop(self.session("auditor"), self.res)))
        return slots

    @property
    def agent_names(self) -> list[str]:
        return [s.name for s in self.slots]

    def slot(self, name: str) -> _Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(f"no agent {name!r}; agents: {', '.join(self.agent_names)}")

    @property
    def supervisor(self) -> Any:
        return self.slots[0].agent

    # -- what the system has done ---------------------------------------------

    @property
    def ops(self) -> list[Op]:
        return self.rec.ops

    def task_states(self) -> dict[str, str]:
        from reference_system.resources import task_states

        return task_states(self.plain, self.res)

    @property
    def finished(self) -> bool:
        """Every supervisor is done with what it knows of, or every submitted
        request has been seen to end (replicas may each know only part)."""
        sups = self.slots[: self.cfg.supervisors]
        if all(s.alive and bool(s.agent.finished) for s in sups):
            return True
        return bool(self.submitted) and self._ended_tasks.issuperset(self.submitted)

    def _watch(self, op: Op) -> None:
        if op.f != "state.transition" or op.type != "ok":
            return
        self._moves += 1
        if "/" in str(op.key):
            return
        if isinstance(op.value, dict) and op.value.get("to") in ("done", "failed"):
            self._ended_tasks.add(str(op.key))

    def _next_sweep(self) -> float | None:
        """When the next supervisor with open tasks sweeps them (virtual seconds), if one does."""
        times = []
        for s in self.slots[: self.cfg.supervisors]:
            a = s.agent
            interval, last = getattr(a, "sweep_interval", None), getattr(a, "_last_sweep", None)
            if s.alive and getattr(a, "open_tasks", None) and interval is not None and last is not None:
                times.append(float(last) + float(interval) - self.injector.clock_skew(s.name) + 1e-6)
        return min(times) if times else None

    @property
    def pending_requests(self) -> list[Any]:
        return self._workload[len(self.submitted) :]

    # -- driving -----------------------------------------------------------------

    def submit(self, request: Any = None) -> str | None:
        """Submit ``request`` (default: the workload's next one) as a client
        would: retrying transient errors, and after a supervisor crash once it
        is back. Returns the task id, or None when the workload is used up."""
        from reference_system.runner import TRANSIENT

        if request is None:
            if not self.pending_requests:
                return None
            request = self.pending_requests[0]
        sup = self.slots[0]
        self._finish_step(sup)
        for attempt in range(20):
            self._restart_due(force=not sup.alive and sup.restart_at is not None)
            if not sup.alive:
                if sup.restart_at is None:
                    break  # down for good: the request is lost, as the checks will say
                continue  # it could not even start: wait for its next start
            try:
                sup.agent.submit(request)
                sup.parked, sup.ready_at = None, min(sup.ready_at, self.clock.now())  # work to dispatch
            except TRANSIENT:
                self.clock.advance(0.1 * 2 ** min(attempt, 5))
                continue
            except AgentCrash:
                self._crashed(sup)
                continue
            break
        self.submitted.append(request.request_id)
        return str(request.request_id)

    def submit_all(self) -> list[str]:
        ids = []
        while self.pending_requests:
            tid = self.submit()
            if tid is not None:
                ids.append(tid)
        return ids

    def step(self, choice: int | None = None) -> str | None:
        """Let one ready agent go on until its next AWS call or the end of its
        step (``choice`` indexes the ready agents, else the schedule or the seed
        picks); when nobody is ready, time moves to the next wake-up. Returns
        the agent that went on, or None."""
        now = self.clock.now()
        self._restart_due()
        ready = [s for s in self.slots if s.alive and (self._mid(s) or s.ready_at <= now or self._woken(s))]
        if not ready:
            self._sleep_until_wake()
            return None
        pick = self._sched.pick(len(ready)) if choice is None else choice % len(ready)
        slot = ready[pick]
        self._advance(slot)
        return slot.name

    def deliver(self, name: str) -> bool | None:
        """Run agent ``name``'s step to its end now, whether or not it is due
        (it receives and handles what is waiting for it). Returns whether it
        did anything; None if it is down or met an error."""
        self._restart_due()
        slot = self.slot(name)
        if not slot.alive:
            return None
        if not self._mid(slot):
            self._advance(slot)
        return self._finish_step(slot)

    def duplicate(self, queue: str, back: int = 0) -> bool:
        """Deliver again a message already delivered from ``queue`` (a logical
        name, see ``DUPLICABLE``): a copy with the same body and attributes, as
        an at-least-once queue may. False if nothing was delivered there yet."""
        url = self.res.queue(queue)
        msg = self.nemesis.last_delivered(url, back)
        if msg is None:
            return False
        self.plain.client("sqs").send_message(**resend_params(url, msg))
        self.wakeups.changed_anywhere()
        mid = (msg["MessageAttributes"].get("message_id") or {}).get("StringValue")
        self.nemesis.record("duplicate_delivery", queue, message_id=mid)
        return True

    def crash(self, name: str, *, after_calls: int | None = None, restart_after: float | None = 5.0) -> None:
        """Crash agent ``name``: now (where it stands, even half-way through a
        step), or right after its ``after_calls``-th AWS call from now applied.
        It comes back after ``restart_after`` virtual seconds (None: never)."""
        slot = self.slot(name)
        self._restart_after[name] = restart_after
        if after_calls is not None:
            self.nemesis.arm_crash(name, after_calls)
            return
        if not slot.alive:
            return
        self.nemesis.record("crash", name, agent=name, by="nemesis")
        if self._mid(slot):
            assert slot.runner is not None
            if slot.runner.crash():
                self._ended(slot)
            self._finish_step(slot)
        else:
            self._crashed(slot)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (visibility timeouts expire, crashed agents restart)."""
        self.clock.advance(seconds)

    def run(self, *, max_virtual_seconds: float | None = None, max_steps: int | None = None) -> str:
        """Step until the supervisor is done with everything submitted, or a
        limit: returns why it stopped (finished, quiet, time limit, step limit, all dead)."""
        limit_t = self.cfg.max_virtual_seconds if max_virtual_seconds is None else max_virtual_seconds
        limit_n = self.cfg.max_steps if max_steps is None else self.steps + max_steps
        while True:
            if self.finished:
                self.stopped = "finished"
            elif self.steps >= limit_n:
                self.stopped = "step limit"
            elif self.clock.now() >= limit_t:
                self.stopped = "time limit"
            elif not any(s.alive or s.restart_at is not None for s in self.slots):
                self.stopped = "all dead"
            elif self.cfg.stop_when_quiet and self._quiet():
                wake = self._next_sweep()
                if wake is not None and wake < limit_t and self._moves != self._moves_at_sweep:
                    # A supervisor looks at its open tasks again now and then:
                    # skip to that moment, as long as the last one moved something.
                    self._moves_at_sweep = self._moves
                    self.clock.advance_to(wake)
                    for sup in self.slots[: self.cfg.supervisors]:
                        sup.idle, sup.ready_at = False, self.clock.now()
                    continue
                self.stopped = "quiet"
            else:
                self.step()
                continue
            return self.stopped

    def result(self) -> SimResult:
        states = self.task_states()
        ops = self.rec.ops
        ids = list(self.submitted)
        return SimResult(
            config=self.cfg,
            ops=ops,
            invariants=[all_terminal(ids, states), no_double_effects(ops)],
            task_states=states,
            requests=ids,
            virtual_seconds=self.clock.now(),
            real_seconds=time.perf_counter() - self._t0,
            steps=self.steps,
            choices=list(self._sched.choices),
            faults_injected=self.injector.injected + self.nemesis.injected,
            stopped=self.stopped or "not run",
        )

    # -- internals -----------------------------------------------------------------

    @staticmethod
    def _mid(slot: _Slot) -> bool:
        return slot.runner is not None and slot.runner.mid_step

    def _make(self, slot: _Slot) -> Any:
        from harness.instrument.effects import Effects

        agent = slot.make()
        # Effects name their process after the thread unless told: tell them.
        eff = getattr(agent, "effects", None)
        if isinstance(eff, Effects) and eff.process is None:
            eff.process = slot.name
        return agent

    def _advance(self, slot: _Slot) -> None:
        """Let ``slot`` run to its next yield point or the end of its step."""
        from reference_system.runner import step_safely

        assert slot.runner is not None
        self.steps += 1
        if self._mid(slot):
            ended = slot.runner.resume()
        else:
            slot.steps += 1
            slot.parked = None  # a paused agent sleeps its pause out, whatever arrives
            try:
                pause = self.injector.on_step(slot.name)
            except AgentCrash:
                self._crashed(slot)
                return
            if pause:
                slot.ready_at = self.clock.now() + pause
                return
            agent = slot.agent
            self.wakeups.begin_step(slot.name)
            ended = slot.runner.start(lambda: step_safely(agent))
        if ended:
            self._ended(slot)

    def _finish_step(self, slot: _Slot) -> bool | None:
        """Run ``slot``'s current step (if it is in one) to its end."""
        did: bool | None = None
        while self._mid(slot):
            assert slot.runner is not None
            self.steps += 1
            if slot.runner.resume():
                did = self._ended(slot)
        return did if did is not None else (slot.idle is False and slot.alive) or None

    def _ended(self, slot: _Slot) -> bool | None:
        """Account for the end of ``slot``'s step; returns whether it did anything."""
        assert slot.runner is not None
        how, value = slot.runner.outcome or ("ok", None)
        if how == "raised":
            if not isinstance(value, AgentCrash):  # a bug in the agent: it dies, as its process would
                self.rec.record(
                    slot.name,
                    INFO,
                    AGENT_CRASH,
                    slot.name,
                    {"error": f"{type(value).__name__}: {value}"},
                    agent=slot.name,
                )
            self._crashed(slot)
            return None
        did = value
        slot.idle = did is False  # None: it met a transient error and will try again
        if did:
            slot.backoff = MIN_BACKOFF
            slot.ready_at = self.clock.now()
        else:
            slot.ready_at = self.clock.now() + slot.backoff
            slot.backoff = min(slot.backoff * 2, MAX_IDLE if did is False else MAX_BACKOFF)
            if did is False:
                slot.parked = self.wakeups.park(slot.name)
        return bool(did) if did is not None else None

    def _crashed(self, slot: _Slot) -> None:
        slot.alive = False
        slot.idle = False
        if slot.name in self._restart_after:
            delay = self._restart_after.pop(slot.name)
        else:
            delay = self.injector.restart_delay(slot.name)
        slot.restart_at = None if delay is None else self.clock.now() + delay

    def _restart_due(self, force: bool = False) -> None:
        for s in self.slots:
            if s.alive or s.restart_at is None:
                continue
            if force and s is self.slots[0]:
                self.clock.advance_to(s.restart_at)
            if s.restart_at > self.clock.now():
                continue
            self._start_slot(s)

    def _start_slot(self, s: _Slot) -> None:
        """Start (or restart) ``s``'s agent. One that cannot even start (its
        recovery scan throttled, partitioned) is down and tries again soon."""
        from reference_system.runner import TRANSIENT

        try:
            s.agent = self._make(s)
        except AgentCrash:
            self._crashed(s)
            return
        except TRANSIENT:
            s.alive, s.idle, s.restart_at = False, False, self.clock.now() + MAX_BACKOFF
            return
        s.alive, s.restart_at, s.idle = True, None, False
        s.ready_at, s.backoff = self.clock.now(), MIN_BACKOFF

    def _woken(self, s: _Slot) -> bool:
        """An idle agent whose polled queues changed since it found them empty."""
        if s.parked is None:
            return False
        # work an agent holds in memory (a supervisor's tasks to dispatch or resume)
        if any(getattr(s.agent, q, None) for q in ("_to_dispatch", "_to_resume")):
            return True
        held = getattr(self.injector, "_held", {})  # by queue name
        return self.wakeups.woken(s.parked, [q for q, msgs in held.items() if msgs])

    def _sleep_until_wake(self) -> None:
        wake = [s.ready_at for s in self.slots if s.alive] + [
            s.restart_at for s in self.slots if not s.alive and s.restart_at is not None
        ]
        if wake:
            self.clock.advance_to(min(wake))

    def _quiet(self) -> bool:
        """Nothing can happen any more but a supervisor's periodic sweep: every
        agent alive and idle at its longest back-off, nobody waiting to
        restart, no message anywhere."""
        for s in self.slots:
            if not s.alive or self._mid(s) or not s.idle or s.backoff < MAX_IDLE:
                return False
            # work a supervisor has queued in memory (tasks to dispatch or resume)
            if any(getattr(s.agent, q, None) for q in ("_to_dispatch", "_to_resume")):
                return False
        if any(getattr(self.injector, "_held", {}).values()):  # a message held back to reorder
            return False
        sqs = self.plain.client("sqs")
        for name, url in self.res.queues.items():
            if name == "audit" and not self.cfg.auditor:
                continue  # nobody reads it
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            for k in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ):
                if int(a.get(k, "0")):
                    return False
        return True


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
