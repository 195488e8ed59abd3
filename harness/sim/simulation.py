"""A deterministic run driven one step at a time.

Every agent of the system under test (:class:`harness.system.System`; the
reference system when none is named) runs on moto in-process, one at a time:
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
from harness.history.model import FAIL, INFO, OK, Op
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
from harness.system import TRANSIENT, AgentEnv, AgentSpec, System, load_system, next_wake, step_safely

#: The operation a runner records for each request it submitted (key = task id).
TASK_SUBMIT = "task.submit"

#: Agents that met an error back off from MIN to MAX seconds (doubling)
#: before trying again. Idle ones back off up to MAX_IDLE, and are woken
#: sooner when a queue they poll changes (a long poll: see
#: :mod:`harness.sim.wakeups`).
MIN_BACKOFF, MAX_BACKOFF = 0.2, 1.6
MAX_IDLE = 6.4

#: The reference system's queues the driver may duplicate a message on
#: (standard queues; FIFO ones deduplicate).
DUPLICABLE = ("research", "write", "review", "results", "audit")


#: moto's ids while the system is deployed: the same for every case, so that
#: a run started from a deployed state (:mod:`harness.sim.forkserver`) is the
#: run a fresh deploy would give.
DEPLOY_SEED = 0
#: How long the last deploy of each deployed state took in this process
#: (starting moto included): what a fork server would save per run.
DEPLOY_SECONDS: dict[tuple[str, str, int], float] = {}


@dataclass
class Deployed:
    """The system under test deployed on in-process moto, at virtual time 0."""

    key: tuple[str, str, int]
    clock: VirtualClock
    ep: Any
    plain: Any
    res: Any


def deploy_key(cfg: SimConfig) -> tuple[str, str, int] | None:
    """What a deployed state depends on: the system (an import path; None
    when it is an object, which cannot be named to another process), the
    prefix and the visibility timeout."""
    if cfg.system is not None and not isinstance(cfg.system, str):
        return None
    return (cfg.system or "", cfg.prefix, int(cfg.visibility_timeout))


def deploy(cfg: SimConfig, stack: ExitStack, clock: VirtualClock) -> Deployed:
    """Start the virtual clock and in-process moto on ``stack`` and deploy
    ``cfg``'s system there."""
    from harness.backends import embedded

    t0 = time.perf_counter()
    stack.enter_context(clock)
    ep = stack.enter_context(embedded("inprocess", seed=DEPLOY_SEED))
    plain = POOL.plain(ep)
    res = load_system(cfg.system).deploy(plain, cfg.prefix, visibility_timeout=cfg.visibility_timeout)
    key = deploy_key(cfg) or ("", cfg.prefix, int(cfg.visibility_timeout))
    DEPLOY_SECONDS[key] = time.perf_counter() - t0
    return Deployed(key, clock, ep, plain, res)


@dataclass
class _Slot:
    name: str
    make: Callable[[], Any]
    role: str = "agent"
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
    """The system under test (``cfg.system``) under ``cfg``, step by step.

    Use it as a context manager; nothing is submitted until :meth:`submit`
    (or :meth:`submit_all`). :meth:`run` steps until every submitted task
    reached a terminal state the system declares, or nothing can happen any more.
    """

    def __init__(self, cfg: SimConfig, deployed: Deployed | None = None) -> None:
        self.cfg = cfg
        #: The system deployed already (by :func:`deploy`, in a fork server's
        #: parent): the run starts from it instead of deploying.
        self._deployed = deployed
        self.clock = deployed.clock if deployed is not None else VirtualClock()
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
        self.system: System = load_system(cfg.system)
        sm = self.system.declarations.state_machine
        self._terminal: frozenset[str] = sm.terminal if sm is not None else frozenset()
        self._submitted_set: set[str] = set()
        self._versioned = self.system.declarations.versioned or None
        self._queue_urls: dict[str, str] = {}
        self.rec.add_listener(self._watch)

    # -- life cycle ------------------------------------------------------------

    def __enter__(self) -> Simulation:
        try:
            return self.start()
        except BaseException:
            self.close()  # a start that failed half-way leaves no clock or backend running
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Simulation:
        from moto.moto_api._internal import mock_random

        cfg = self.cfg
        system = self.system
        self._t0 = time.perf_counter()
        d = self._deployed if self._deployed is not None else deploy(cfg, self._stack, self.clock)
        self.ep, self.plain, self.res = d.ep, d.plain, d.res
        # Deployed under DEPLOY_SEED whatever the case: from here on, the case's seed.
        mock_random.seed(cfg.seed)
        self.plan = cfg.plan or FaultPlan(seed=cfg.seed)
        self.injector = FaultInjector(self.plan, self.rec, clock=self.clock.now, sleep=self.clock.advance)
        self.wakeups = Wakeups(sqs_subscriptions(self.plain))
        self._model = system.model(cfg.seed) if system.model is not None else None
        self.options = self._options()
        self.slots = [
            _Slot(a.name, self._factory(a), a.role) for a in system.agent_specs(self.res, self.options)
        ]
        # The client submits requests; it is outside the system, so no faults reach it.
        self._client = POOL.session(self.ep, "client", self.rec, [self.wakeups], self._versioned)
        self._runners = {s.name: Runner(s.name) for s in self.slots}
        self._yielder = Yielder(self._runners)
        self._stack.callback(self._close_runners)  # before the backend goes away
        for s in self.slots:
            s.runner = self._runners[s.name]
            self._start_slot(s)
        self._workload = (
            list(cfg.workload)
            if cfg.workload is not None
            else system.workload.requests(cfg.requests, cfg.seed)
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
            self.ep,
            name,
            self.rec,
            [self._yielder, self.wakeups, latency, self.injector, self.nemesis],
            self._versioned,
        )

    def _model_for(self, name: str) -> Any:
        if self._model is None:
            return None
        return SlowModel(FaultyModel(self._model, self.injector, name), self.clock)

    def _options(self) -> dict[str, Any]:
        """The run's options for the system: the knobs it declares
        (``workers``, ``supervisors``, ``auditor``) from the config, then ``cfg.options``."""
        cfg, known = self.cfg, self.system.options
        out: dict[str, Any] = {}
        for k in ("workers", "supervisors", "auditor"):
            if k in known:
                out[k] = getattr(cfg, k)
        return self.system.merged({**out, **cfg.options})

    def _factory(self, spec: AgentSpec) -> Callable[[], Any]:
        name = spec.name

        def make() -> Any:
            env = AgentEnv(
                name=name,
                session=self.session(name),
                resources=self.res,
                model=self._model_for(name),
                clock=lambda: self.clock.now() + self.injector.clock_skew(name),
                ids=lambda: f"{self._id_rng.getrandbits(64):016x}",
                seed=self.cfg.seed,
                options=self.options,
            )
            return spec.make(env)

        return make

    @property
    def agent_names(self) -> list[str]:
        return [s.name for s in self.slots]

    def slot(self, name: str) -> _Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(f"no agent {name!r}; agents: {', '.join(self.agent_names)}")

    def agent(self, name: str) -> Any:
        """Agent ``name``'s current incarnation (None while it is down)."""
        s = self.slot(name)
        return s.agent if s.alive else None

    # -- what the system has done ---------------------------------------------

    @property
    def ops(self) -> list[Op]:
        return self.rec.ops

    def task_states(self) -> dict[str, str]:
        return dict(self.system.task_states(self.plain, self.res))

    @property
    def finished(self) -> bool:
        """Every submitted task has been seen to reach a terminal state (its
        ``state.transition``); a system that declares no state machine ends quiet."""
        return bool(self.submitted) and self._ended_tasks.issuperset(self.submitted)

    def _watch(self, op: Op) -> None:
        if op.f != "state.transition" or op.type != "ok":
            return
        self._moves += 1
        key = str(op.key)
        if key in self._submitted_set and isinstance(op.value, dict) and op.value.get("to") in self._terminal:
            self._ended_tasks.add(key)

    def _wake_of(self, s: _Slot) -> float | None:
        """When ``s``'s agent next has work of its own (virtual seconds), by its hint."""
        if not s.alive or s.agent is None:
            return None
        w = next_wake(s.agent)
        return None if w is None else float(w) - self.injector.clock_skew(s.name)

    def _next_wake(self) -> float | None:
        """When the next agent has work of its own (a timer, a sweep), if one has."""
        times = [w + 1e-6 for w in map(self._wake_of, self.slots) if w is not None]
        return min(times) if times else None

    @property
    def pending_requests(self) -> list[Any]:
        return self._workload[len(self.submitted) :]

    # -- driving -----------------------------------------------------------------

    def submit(self, request: Any = None) -> str | None:
        """Submit ``request`` (default: the workload's next one) as a client
        would, through the system's own entry (a queue, a bus, a table),
        retrying transient errors. Returns the task id, or None when the
        workload is used up."""
        if request is None:
            if not self.pending_requests:
                return None
            request = self.pending_requests[0]
        wl = self.system.workload
        tid = wl.request_id(request)
        self.submitted.append(tid)
        self._submitted_set.add(tid)
        err: BaseException | None = None
        for attempt in range(20):
            try:
                wl.submit(self._client, self.res, request)
            except TRANSIENT as e:
                err = e
                self.clock.advance(0.1 * 2 ** min(attempt, 5))
                continue
            self.rec.record("client", OK, TASK_SUBMIT, tid, None, agent="client")
            return tid
        self.rec.record(
            "client", FAIL, TASK_SUBMIT, tid, {"error": f"{type(err).__name__}: {err}"}, agent="client"
        )
        return tid

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
        url = self.queue_url(queue)
        msg = self.nemesis.last_delivered(url, back)
        if msg is None:
            return False
        self.plain.client("sqs").send_message(**resend_params(url, msg))
        self.wakeups.changed_anywhere()
        mid = (msg["MessageAttributes"].get("message_id") or {}).get("StringValue")
        self.nemesis.record("duplicate_delivery", queue, message_id=mid)
        return True

    def workers(self) -> list[str]:
        """The agents that are not supervisors (all of them if every one is)."""
        return [s.name for s in self.slots if s.role != "supervisor"] or self.agent_names

    def duplicable_queues(self) -> list[str]:
        """Names of the standard queues agents have read from so far (a
        duplicate delivery is what such a queue may do; FIFO ones deduplicate)."""
        return sorted(u.rsplit("/", 1)[-1] for u in self.wakeups.polled_ever if not u.endswith(".fifo"))

    def queue_url(self, name: str) -> str:
        """The URL of queue ``name``: its name, or the name after the run's prefix."""
        if name not in self._queue_urls:
            from harness.system.resources import find_queue_url

            url = find_queue_url(self.plain.client("sqs"), name, self.cfg.prefix)
            if url is None:
                raise KeyError(f"no queue {name!r} (nor {self.cfg.prefix}-{name})")
            self._queue_urls[name] = url
        return self._queue_urls[name]

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
                wake = self._next_wake()
                if wake is not None and wake < limit_t and self._moves != self._moves_at_sweep:
                    # An agent has a timer (a supervisor looks at its open tasks
                    # again now and then): skip to that moment, as long as the
                    # last one moved something.
                    self._moves_at_sweep = self._moves
                    self.clock.advance_to(wake)
                    now = self.clock.now()
                    for s in self.slots:
                        w = self._wake_of(s)
                        if w is not None and w <= now:
                            s.idle, s.ready_at = False, now
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
            invariants=[all_terminal(ids, states, self._terminal or None), no_double_effects(ops)],
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

    def _restart_due(self) -> None:
        for s in self.slots:
            if s.alive or s.restart_at is None:
                continue
            if s.restart_at > self.clock.now():
                continue
            self._start_slot(s)

    def _start_slot(self, s: _Slot) -> None:
        """Start (or restart) ``s``'s agent. One that cannot even start (its
        recovery scan throttled, partitioned) is down and tries again soon."""
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
        # work of its own that is due (held in memory, a timer), by its hint
        w = self._wake_of(s)
        if w is not None and w <= self.clock.now():
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
        """Nothing can happen any more but an agent's timer: every agent alive
        and idle at its longest back-off, nobody waiting to restart, no
        message on any queue an agent reads."""
        for s in self.slots:
            if not s.alive or self._mid(s) or not s.idle or s.backoff < MAX_IDLE:
                return False
            # work of its own that is due (held in memory), by its hint
            w = self._wake_of(s)
            if w is not None and w <= self.clock.now():
                return False
        if any(getattr(self.injector, "_held", {}).values()):  # a message held back to reorder
            return False
        sqs = self.plain.client("sqs")
        for url in sorted(self.wakeups.polled_ever):  # a queue nobody reads holds nothing back
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
