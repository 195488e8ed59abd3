"""A long-running system under test that a chaos experiment can steer.

``Cluster(cfg).start()`` opens a backend (embedded moto in server mode on
127.0.0.1 by default), deploys the system (``cfg.system``; the reference
system by default), and starts one process per agent it declares. Each agent process reaches every
loopback service through its own :class:`~harness.faults.proxy.TcpProxy`, so
an agent can be cut off from one service at the socket level. While it runs:

- :meth:`submit` feeds requests through the system's own entry (recorded as
  the ``client`` process);
- :meth:`apply_plan` / :meth:`clear_plans` add and remove fault plans, which
  the agents pick up within 0.1 s (``--plan-dir``);
- :meth:`kill`, :meth:`pause` (SIGSTOP), :meth:`resume` (SIGCONT),
  :meth:`partition` and :meth:`heal` act on one agent; an agent that dies
  (a crash fault, a kill) is restarted, as a process manager would;
- :meth:`history` merges the history recorded so far.

:meth:`stop` always leaves nothing behind: plans removed, paused processes
continued, every agent stopped and reaped, proxies closed, resources deleted
from a remote backend, the backend closed; the merged history stays in the
output directory. Every action is recorded in the history as an ``info``
operation of process ``nemesis``: ``fault.kill``, ``fault.pause`` and
``fault.partition`` for faults, ``chaos.*`` for plans, heals and restarts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import settings
from harness.backends import Endpoints, open_backend
from harness.faults import NEMESIS, Fault, FaultPlan, Target
from harness.faults.proxy import TcpProxy
from harness.history.model import INFO, Op
from harness.history.recorder import Recorder, wall_clock
from harness.run import processes

#: Backends the harness starts itself (their resources vanish with them).
LOCAL_BACKENDS = frozenset({"embedded", "localstack"})
#: The operation a runner records for each request it submitted (key = task id).
TASK_SUBMIT = "task.submit"


class ClusterError(RuntimeError):
    """The system could not be started or steered; the message is one line."""


@dataclass
class ClusterConfig:
    backend: str = "embedded"
    workers: int = 4
    visibility_timeout: int = 2
    seed: int = 1
    prefix: str | None = None
    out: Path | None = None
    #: The system under test (``pkg.module:obj``; None: the reference system) and its options.
    system: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: ``CAP=pkg.module:Class`` worker (or WorkerLoop) overrides, for a system with an ``impls`` option.
    worker_impls: tuple[str, ...] = ()
    supervisor_reads: str = "consistent"
    #: Seconds between the idle supervisor's looks at every open task (anti-entropy).
    sweep_interval: float = 3.0
    #: Seconds before an agent that died (crash fault, kill) is started again.
    restart_after: float = 1.0
    allowed_accounts: tuple[str, ...] = ()
    profile: str | None = None
    proxies: bool = True
    startup_timeout: float = 60.0
    name: str = "cluster"


@dataclass
class AgentProc:
    """One agent process and what was done to it."""

    name: str
    args: list[str]
    log: Path
    endpoints: Endpoints
    proxies: dict[str, TcpProxy] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    paused: bool = False
    resume_at: float | None = None
    restart_at: float | None = None
    restart_delay: float | None = None
    heal_at: float | None = None
    restarts: int = 0


class Cluster:
    def __init__(self, cfg: ClusterConfig | None = None) -> None:
        self.cfg = cfg or ClusterConfig()
        if self.cfg.workers < 1:
            raise ClusterError("a cluster needs at least one worker")
        self.out = (
            self.cfg.out
            or settings.RUNS_DIR / "chaos" / f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(self.cfg.name)}"
        )
        self.parts = self.out / "parts"
        self.plan_dir = self.out / "plans"
        self.agents: dict[str, AgentProc] = {}
        self.submitted: list[str] = []
        self.pids: list[int] = []
        self.started = self.stopped = False
        self._stack = ExitStack()
        self._lock = threading.RLock()
        self._halt = threading.Event()
        self._monitor: threading.Thread | None = None
        self._nemesis: Recorder | None = None
        self._client: Any = None
        self._admin: Any = None
        self._clients: dict[str, Any] = {}
        self.endpoints: Endpoints | None = None
        self.resources: Any = None
        self.history_path: Path | None = None
        from harness.system import load_system

        self.system = load_system(self.cfg.system)
        sm = self.system.declarations.state_machine
        self.terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})
        self.prefix = ""
        self._queue_urls: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Cluster:
        """Open the backend, deploy, start the agents and wait until each one runs."""
        if self.started:
            return self
        self.started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from harness.instrument.session import plain_session, session
        from harness.run.main import process_options

        cfg = self.cfg
        system = self.system
        for d in (self.parts, self.plan_dir):
            d.mkdir(parents=True, exist_ok=True)
        for stale in self.plan_dir.glob("*.json"):
            stale.unlink()
        ep = self._stack.enter_context(
            open_backend(
                cfg.backend, profile=cfg.profile, allowed_accounts=cfg.allowed_accounts, seed=cfg.seed
            )
        )
        self.endpoints = ep
        self.start_ns = time.time_ns()
        clock = wall_clock(self.start_ns)
        self._nemesis = Recorder(self.parts / "history.nemesis.jsonl", clock=clock, keep=False)
        prefix = cfg.prefix or ("mas" if cfg.backend in LOCAL_BACKENDS else f"chaos-{uuid.uuid4().hex[:8]}")
        self.prefix = prefix
        with Recorder(self.parts / "history.deploy.jsonl", clock=clock, keep=False) as rec:
            s = session(ep, "deploy", rec)
            self.resources = system.deploy(s, prefix, visibility_timeout=cfg.visibility_timeout)
        (self.out / "resources.json").write_text(system.dump_resources(self.resources))
        client_rec = self._stack.enter_context(
            Recorder(self.parts / "history.client.jsonl", clock=clock, keep=False)
        )
        self._client_rec = client_rec
        self._client = session(ep, "client", client_rec)
        self._admin = plain_session(ep)
        self.options = process_options(system, cfg.workers, {**self._known_options(), **cfg.options})
        common = ["--options", json.dumps(self.options, sort_keys=True)]
        if system.spec:
            common += ["--system", system.spec]
        for spec in system.agent_specs(self.resources, self.options):
            self._add_agent(spec.name, common)
        self._write_state()
        self._await_agents()
        self._monitor = threading.Thread(target=self._watch, name="cluster-monitor", daemon=True)
        self._monitor.start()

    def _known_options(self) -> dict[str, Any]:
        """The cluster's settings the system takes as options (the reference
        system's supervisor reads, sweep interval and worker overrides)."""
        known, cfg = self.system.options, self.cfg
        out: dict[str, Any] = {}
        if "reads" in known:
            out["reads"] = cfg.supervisor_reads
        if "sweep_interval" in known:
            out["sweep_interval"] = cfg.sweep_interval
        if cfg.worker_impls:
            if "impls" not in known:
                raise ClusterError(f"system {self.system.name} has no workers to replace (no 'impls' option)")
            from harness.sim.case import worker_options

            try:
                out.update(worker_options(list(cfg.worker_impls)))
            except ValueError as e:
                raise ClusterError(str(e)) from None
        return out

    def _add_agent(self, name: str, role_args: list[str]) -> None:
        assert self.endpoints is not None
        proxies: dict[str, TcpProxy] = {}
        urls = dict(self.endpoints.urls)
        if self.cfg.proxies:
            for svc, url in self.endpoints.urls.items():
                target = urlsplit(url) if url else None
                if target is not None and target.hostname in (settings.LOOPBACK, "localhost") and target.port:
                    proxies[svc] = TcpProxy(settings.LOOPBACK, target.port)
                    urls[svc] = proxies[svc].url
        args = ["--agent", name, "--history", str(self.parts / f"history.{name}.jsonl"), *role_args]
        args += ["--resources", str(self.out / "resources.json"), "--seed", str(self.cfg.seed)]
        args += ["--start-ns", str(self.start_ns), "--plan-dir", str(self.plan_dir), "--exit-with-parent"]
        agent = AgentProc(
            name, args, self.parts / f"{name}.log", dataclasses.replace(self.endpoints, urls=urls)
        )
        agent.proxies = proxies
        self.agents[name] = agent
        self._spawn(agent, restart=False)

    def _spawn(self, agent: AgentProc, restart: bool) -> None:
        args = [*agent.args, "--skip-crash"] if restart else agent.args
        agent.popen = processes.spawn(args, agent.endpoints, agent.log)
        agent.paused = False
        agent.resume_at = agent.restart_at = agent.restart_delay = None
        self.pids.append(agent.popen.pid)

    def _await_agents(self) -> None:
        """Wait until every agent has made its first call (its history part is not empty)."""
        deadline = time.monotonic() + self.cfg.startup_timeout
        waiting = dict(self.agents)
        while waiting:
            for name, a in list(waiting.items()):
                assert a.popen is not None
                if a.popen.poll() is not None:
                    raise ClusterError(
                        f"{name} exited with {a.popen.returncode} while starting: {_last_line(a.log)}"
                    )
                part = self.parts / f"history.{name}.jsonl"
                if part.exists() and part.stat().st_size > 0:
                    del waiting[name]
            if time.monotonic() > deadline:
                raise ClusterError(f"{', '.join(waiting)} not running after {self.cfg.startup_timeout:.0f}s")
            time.sleep(0.05)

    def stop(self) -> Path | None:
        """Stop everything (idempotent); returns the merged history, if any was recorded."""
        with self._lock:
            if self.stopped or not self.started:
                self.stopped = True
                return self.history_path
            self.stopped = True
        with _sigint_deferred():
            self._halt.set()
            if self._monitor is not None:
                self._monitor.join(timeout=5)
            try:
                self._clear_plan_files()
                for a in self.agents.values():
                    for p in a.proxies.values():
                        p.heal()
                    if a.paused and a.popen is not None:
                        processes.resume(a.popen)
                    a.paused, a.resume_at, a.heal_at = False, None, None
                processes.stop([a.popen for a in self.agents.values() if a.popen is not None], grace=5.0)
                for a in self.agents.values():
                    for p in a.proxies.values():
                        p.close()
                if self.cfg.backend not in LOCAL_BACKENDS and self.resources is not None:
                    self._undeploy()
            finally:
                try:
                    self._stack.close()
                finally:
                    if self._nemesis is not None:
                        self._nemesis.close()
                    self.history_path = self._merge()
                    self._write_state()
        return self.history_path

    def _undeploy(self) -> None:
        """Delete what ``start`` created on a remote backend (best effort): the
        system's own undeploy, then any queue still carrying the run's prefix."""
        if self.system.undeploy is not None:
            with contextlib.suppress(Exception):
                self.system.undeploy(_Clients(self._aws), self.resources)
        sqs = self._aws("sqs")
        with contextlib.suppress(Exception):
            for url in sqs.list_queues(QueueNamePrefix=f"{self.prefix}-").get("QueueUrls", []):
                with contextlib.suppress(Exception):
                    sqs.delete_queue(QueueUrl=url)

    def _aws(self, service: str) -> Any:
        """An uninstrumented client of the backend (made once per service)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._admin.client(service)
            return self._clients[service]

    def leftovers(self) -> list[str]:
        """What is still around from this cluster (empty after a clean stop)."""
        return leftovers(self.out / "cluster.json")

    # -- state on disk ----------------------------------------------------------

    def _write_state(self) -> None:
        if not self.out.exists():
            return
        state = {
            "out": str(self.out),
            "backend": self.cfg.backend,
            "admin_url": self.endpoints.admin_url if self.endpoints else None,
            "prefix": self.prefix or None,
            "system": self.system.spec or "reference",
            "plan_dir": str(self.plan_dir),
            "controller": os.getpid(),
            "pids": self.pids,
            "paused": [a.name for a in self.agents.values() if a.paused],
            "partitioned": {
                a.name: sorted(svc for svc, p in a.proxies.items() if p.is_cut)
                for a in self.agents.values()
                if not self.stopped and any(p.is_cut for p in a.proxies.values())
            },
            "plans": self.plans() if self.plan_dir.exists() else [],
            "agents": {
                a.name: {
                    "pid": a.popen.pid if a.popen else None,
                    "restarts": a.restarts,
                    "proxies": {svc: p.port for svc, p in a.proxies.items()},
                }
                for a in self.agents.values()
            },
            "submitted": len(self.submitted),
            "stopped": self.stopped,
            "history": str(self.history_path) if self.history_path else None,
        }
        with self._lock:
            tmp = self.out / ".cluster.json.tmp"
            tmp.write_text(json.dumps(state, indent=2))
            tmp.replace(self.out / "cluster.json")

    # -- the monitor: restarts, timed resumes and heals ----------------------

    def _watch(self) -> None:
        while not self._halt.wait(0.05):
            with self._lock:
                if self.stopped:
                    return
                now = time.monotonic()
                for a in self.agents.values():
                    self._tend(a, now)

    def _tend(self, a: AgentProc, now: float) -> None:
        if a.resume_at is not None and now >= a.resume_at:
            self.resume(a.name)
        if a.heal_at is not None and now >= a.heal_at:
            self.heal(a.name)
        if a.popen is None or a.popen.poll() is None:
            return
        if a.restart_at is None:
            code = a.popen.returncode
            if code != -signal.SIGKILL:  # a kill is recorded by whoever killed it
                self._note("chaos.exit", a.name, agent=a.name, code=code, log=_last_line(a.log))
            delay = a.restart_delay if a.restart_delay is not None else self.cfg.restart_after
            a.restart_at = now + delay
        elif now >= a.restart_at:
            self._spawn(a, restart=True)
            a.restarts += 1  # after the new process is in place: a reader of restarts sees it
            self._note("chaos.restart", a.name, agent=a.name, pid=a.popen.pid if a.popen else None)
            self._write_state()

    def _note(self, f: str, key: str, **value: Any) -> None:
        """Record an action: ``fault.<kind>`` for a fault (kill, pause,
        partition), ``chaos.<what>`` for bookkeeping (plans, heals, restarts)."""
        if self._nemesis is not None:
            self._nemesis.record(NEMESIS, INFO, f, key, value or None)

    # -- workload ---------------------------------------------------------------

    def submit(self, count: int) -> list[str]:
        """Send ``count`` more requests (seeded, so a rerun sends the same ones)
        through the system's entry, as its client would."""
        from harness.history.model import OK
        from harness.system import retry

        self._require_running()
        wl = self.system.workload
        reqs = wl.requests(len(self.submitted) + count, self.cfg.seed)[len(self.submitted) :]
        ids = []
        for r in reqs:
            tid = wl.request_id(r)
            retry(lambda r=r: wl.submit(self._client, self.resources, r))
            self._client_rec.record("client", OK, TASK_SUBMIT, tid, None, agent="client")
            self.submitted.append(tid)
            ids.append(tid)
        self._write_state()
        return ids

    def task_states(self) -> dict[str, str]:
        self._require_running()
        return dict(self.system.task_states(_Clients(self._aws), self.resources))

    def in_flight(self) -> list[str]:
        """Submitted requests whose task has not (yet) reached a terminal state."""
        states = self.task_states()
        return [r for r in self.submitted if states.get(r) not in self.terminal]

    def queues(self) -> list[str]:
        """The names of the system's queues (without the run's prefix)."""
        self._require_running()
        cut = len(self.prefix) + 1
        urls = self._aws("sqs").list_queues(QueueNamePrefix=f"{self.prefix}-").get("QueueUrls", [])
        return sorted(u.rsplit("/", 1)[-1][cut:] for u in urls)

    def work_queues(self) -> list[str]:
        """The queues whose depth says whether work is still moving (all but dead-letter queues)."""
        return [q for q in self.queues() if not q.endswith("-dlq")]

    def queue_url(self, name: str) -> str:
        if name not in self._queue_urls:
            from harness.system.resources import find_queue_url

            url = find_queue_url(self._aws("sqs"), name, self.prefix)
            if url is None:
                raise ClusterError(f"no queue {name!r}: choose from {', '.join(self.queues())}")
            self._queue_urls[name] = url
        return self._queue_urls[name]

    def queue_depth(self, name: str, in_flight: bool = True) -> int:
        """Messages in the queue (visible and delayed, plus those being handled with ``in_flight``)."""
        self._require_running()
        attrs = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        if in_flight:
            attrs.append("ApproximateNumberOfMessagesNotVisible")
        got = self._aws("sqs").get_queue_attributes(QueueUrl=self.queue_url(name), AttributeNames=attrs)
        return sum(int(got["Attributes"].get(a, 0)) for a in attrs)

    def dead_letter_queues(self) -> list[str]:
        return [q for q in self.queues() if q.endswith("-dlq")]

    def settle(self, timeout: float, quiet: float | None = None) -> bool:
        """Wait until every submitted request is terminal and no work queue holds
        a message; returns whether that happened within ``timeout`` seconds.
        Once it has, wait ``quiet`` seconds more (default: twice the visibility
        timeout; never past ``timeout``), so that a handler stalled past its
        message's visibility, whose copy another one finished, is heard from
        before the history is judged."""
        window = 2.0 * self.cfg.visibility_timeout if quiet is None else quiet
        deadline = time.monotonic() + timeout
        work = self.work_queues()
        since: float | None = None
        while True:
            now = time.monotonic()
            if since is None and not self.in_flight() and all(self.queue_depth(q) == 0 for q in work):
                since = now
            if since is not None and (now - since >= window or now >= deadline):
                return True
            if now >= deadline:
                return False
            time.sleep(0.25)

    def history(self) -> list[Op]:
        """The history recorded so far, merged across processes in time order."""
        return read_parts(sorted(self.parts.glob("history.*.jsonl")))

    # -- faults -------------------------------------------------------------------

    def apply_plan(self, plan: FaultPlan, name: str = "plan") -> Path:
        """Write a fault plan where the agents pick it up (replacing one of the same name)."""
        self._require_running()
        path = self.plan_dir / f"{_slug(name)}.json"
        tmp = self.plan_dir / f".{_slug(name)}.tmp"
        tmp.write_text(plan.model_dump_json(exclude_defaults=True))
        tmp.replace(path)
        self._note("chaos.plan", path.stem, faults=[f.id or f.kind for f in plan.faults])
        self._write_state()
        return path

    def plans(self) -> list[str]:
        return sorted(p.stem for p in self.plan_dir.glob("*.json"))

    def clear_plans(self, name: str | None = None) -> list[str]:
        """Remove one plan, or all of them; returns the names removed."""
        removed = self._clear_plan_files(name)
        if removed:
            self._note("chaos.plan_clear", ",".join(removed), plans=removed)
            self._write_state()
        return removed

    def _clear_plan_files(self, name: str | None = None, *, glob: str | None = None) -> list[str]:
        pattern = f"{glob}.json" if glob else f"{_slug(name)}.json" if name else "*.json"
        removed = []
        for p in self.plan_dir.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p.stem)
        return sorted(removed)

    def agent(self, name: str) -> AgentProc:
        try:
            return self.agents[name]
        except KeyError:
            raise ClusterError(f"no agent {name!r}: choose from {', '.join(self.agents)}") from None

    def _select(self, pattern: str) -> list[AgentProc]:
        import fnmatch

        found = [a for n, a in self.agents.items() if fnmatch.fnmatchcase(n, pattern)]
        if not found:
            raise ClusterError(f"no agent matches {pattern!r}: choose from {', '.join(self.agents)}")
        return found

    def kill(self, name: str, restart_after: float | None = None) -> int | None:
        """SIGKILL the agent; it is started again after ``restart_after`` seconds
        (default: the cluster's). Returns the pid killed (None if it was not running)."""
        self._require_running()
        with self._lock:
            a = self.agent(name)
            pid = a.popen.pid if a.popen else None
            if a.popen is None or not processes.signal_process(a.popen, signal.SIGKILL):
                return None
            a.paused, a.resume_at = False, None
            a.restart_delay = restart_after
            self._note("fault.kill", name, agent=name, pid=pid, restart_after=restart_after)
            return pid

    def pause(self, name: str, seconds: float = 0.0) -> bool:
        """SIGSTOP the agent; SIGCONT it after ``seconds`` (0: only on :meth:`resume` or :meth:`heal`)."""
        self._require_running()
        with self._lock:
            a = self.agent(name)
            if a.popen is None or not processes.pause(a.popen):
                return False
            a.paused = True
            a.resume_at = time.monotonic() + seconds if seconds > 0 else None
            self._note("fault.pause", name, agent=name, seconds=seconds)
            self._write_state()
            return True

    def resume(self, pattern: str = "*") -> list[str]:
        """SIGCONT every paused agent matching ``pattern``; returns their names."""
        resumed = []
        with self._lock:
            for a in self._select(pattern):
                if a.paused:
                    if a.popen is not None:
                        processes.resume(a.popen)
                    a.paused, a.resume_at = False, None
                    resumed.append(a.name)
                    self._note("chaos.resume", a.name, agent=a.name)
            if resumed:
                self._write_state()
        return resumed

    def partition(self, name: str, service: str = "*", seconds: float = 0.0) -> str:
        """Cut the agent off from ``service`` (or every service): at the socket
        level through its proxies, or, where it has none (a remote backend), by
        a ``partition`` fault plan. Healed after ``seconds`` (0: by :meth:`heal`)."""
        import fnmatch

        self._require_running()
        with self._lock:
            a = self.agent(name)
            cut = [svc for svc, p in a.proxies.items() if fnmatch.fnmatchcase(svc, service)]
            if cut:
                for svc in cut:
                    a.proxies[svc].cut()
                how = "proxy"
            else:
                plan = FaultPlan(faults=[Fault(kind="partition", target=Target(agent=name, service=service))])
                self.apply_plan(plan, f"partition-{name}-{'all' if service == '*' else service}")
                how = "plan"
            a.heal_at = time.monotonic() + seconds if seconds > 0 else None
            self._note("fault.partition", name, agent=name, service=service, how=how, services=cut)
            self._write_state()
            return how

    def heal(self, pattern: str = "*") -> dict[str, list[str]]:
        """End every partition and pause of the matching agents."""
        healed: list[str] = []
        with self._lock:
            agents = self._select(pattern)
            for a in agents:
                was_cut = [svc for svc, p in a.proxies.items() if p.is_cut]
                for p in a.proxies.values():
                    p.heal()
                plans = self._clear_plan_files(glob=f"partition-{_slug(a.name)}-*")
                a.heal_at = None
                if was_cut or plans:
                    healed.append(a.name)
                    self._note("chaos.heal", a.name, agent=a.name, services=was_cut, plans=plans)
            resumed = self.resume(pattern)
            if healed:
                self._write_state()
        return {"healed": healed, "resumed": resumed}

    def _require_running(self) -> None:
        if not self.started or self.stopped:
            raise ClusterError("the system is not running")

    def _merge(self) -> Path | None:
        from harness.history.jsonl import write_history

        if not self.parts.exists():
            return None
        out = self.out / "history.jsonl"
        write_history(self.history(), out)
        return out


def read_parts(paths: list[Path]) -> list[Op]:
    """Merge per-process history files that may still be growing: a last line
    without its newline (being written) or one that does not parse (cut by a
    kill) is left out. Ordered by time, then file, then line; re-indexed."""
    import orjson

    keyed: list[tuple[int, int, int, Op]] = []
    for i, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        lines = data.split(b"\n")
        for j, line in enumerate(lines[:-1]):  # the piece after the last newline is incomplete
            if not line.strip():
                continue
            try:
                op = Op.from_dict(orjson.loads(line))
            except (ValueError, TypeError):
                continue
            keyed.append((op.time, i, j, op))
    keyed.sort(key=lambda t: t[:3])
    ops = [t[3] for t in keyed]
    for n, op in enumerate(ops):
        op.index = n
    return ops


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in text.strip().lower())
    return "-".join(filter(None, keep.split("-")))[:60] or "run"


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip()[:300] if lines else "no output"


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Let a clean stop finish even when Ctrl-C is pressed again meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _Clients:
    """Looks like a Session to code that only calls ``client(service)``."""

    def __init__(self, make: Any) -> None:
        self.client = make


def leftovers(state_file: Path) -> list[str]:
    """What a cluster left behind, judged from its state file (``cluster.json``):
    plan files, processes that have not exited (a paused one included), and
    proxies or a backend port still listening."""
    state = json.loads(state_file.read_text())
    found = [f"plan {p.name}" for p in Path(state["plan_dir"]).glob("*.json")]
    found += [
        f"process {pid} (state {processes.state(pid)})" for pid in state["pids"] if processes.alive(pid)
    ]
    ports = [
        (f"proxy {svc} of {name}", port)
        for name, a in state["agents"].items()
        for svc, port in a["proxies"].items()
    ]
    if state.get("admin_url") and state["backend"] == "embedded":
        ports.append(("backend", urlsplit(state["admin_url"]).port))
    ours = {state.get("controller"), *state["pids"]}
    for what, port in ports:
        # Only a listener of our own processes counts: once they are gone the
        # port is free, and another process may well have been given it since.
        owners = processes.listening_pids(port) & ours
        if owners:
            found.append(f"{what} listening on port {port} (pid {', '.join(map(str, sorted(owners)))})")
    return found
