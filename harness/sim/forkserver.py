"""Deploy once, fork per case: simulated runs without their set-up.

A simulated run spends about a quarter of its time before its first step and
after its last: starting moto, deploying the system, tearing it down. A fork
server pays that once. It is a fresh interpreter (``python -m
harness.sim.forkserver``, so nothing of the caller's threads, locks, patches
or frozen clock comes with it) that imports the harness and the system under
test, warms every agent's clients with one throw-away run, and deploys the
system on in-process moto at virtual time 0. Each case then runs in a child
forked from that state (copy-on-write), which sends back its
:class:`SimResult` and exits without tearing anything down.

A run started from the deployed state is the run a fresh deploy gives, byte
for byte: the system is deployed under the same moto seed either way
(:data:`harness.sim.simulation.DEPLOY_SEED`), and the case's seed is set
after it.

A server serves one deployed state (system, prefix, visibility timeout),
one case at a time; :func:`simulate` keeps one per state in each process
(a process that wants J cases at once runs J processes).

Whether it pays depends on the system: a child's first writes to the pages
it shares with its server copy them, which costs about what a deploy of a
few tables and queues does (measured by ``make bench``'s ``example``
benchmark). So by default (``HARNESS_FORK=auto``) a run deploys afresh, and
the process measures that; once a deploy of the state took longer than
:data:`WORTH_FORKING` seconds, later runs of it go through a fork server.
``HARNESS_FORK=1`` always forks, ``HARNESS_FORK=0`` never does.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import pickle
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from harness.sim.config import SimConfig, SimResult
from harness.sim.simulation import deploy_key

#: How long a case may run in the child before the server gives up on it.
CASE_TIMEOUT = 900.0
#: Deployed states kept per process (each is a server process).
MAX_SERVERS = 4


class ForkServerError(RuntimeError):
    """The server or a child died, or a case did not come back in time."""


#: A deploy slower than this (seconds) is worth a fork server, in ``auto`` mode.
WORTH_FORKING = 0.25


def mode() -> str:
    """``HARNESS_FORK``: ``auto`` (the default), ``1`` (always) or ``0`` (never)."""
    m = os.environ.get("HARNESS_FORK", "auto").strip().lower() or "auto"
    if m not in ("auto", "0", "1"):
        raise ValueError(f"HARNESS_FORK must be auto, 1 or 0, not {m!r}")
    return m


def enabled() -> bool:
    """Whether fork servers may be used at all here."""
    return mode() != "0" and hasattr(os, "fork") and sys.platform != "win32"


def worth_forking(cfg: SimConfig) -> bool:
    """Whether a run of ``cfg`` goes through a fork server."""
    key = deploy_key(cfg)
    if key is None or not enabled():
        return False
    if mode() == "1":
        return True
    from harness.sim.simulation import DEPLOY_SECONDS

    return DEPLOY_SECONDS.get(key, 0.0) > WORTH_FORKING


class ForkServer:
    """A server process holding one deployed state; :meth:`run` forks a
    child from it per case."""

    def __init__(self, cfg: SimConfig) -> None:
        key = deploy_key(cfg)
        if key is None:
            raise ValueError("a fork server needs a system named by its import path")
        self.key = key
        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "harness.sim.forkserver", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C meant for the caller is the caller's to handle
        )
        child.close()
        self._conn = Connection(parent.detach())
        self._conn.send_bytes(pickle.dumps(cfg))
        self._lock = threading.Lock()
        ready = self._recv(CASE_TIMEOUT)
        if ready[0] != "ready":
            self.close()
            raise ForkServerError(f"the fork server could not deploy: {ready[1]}")

    def run(self, cfg: SimConfig, timeout: float = CASE_TIMEOUT) -> SimResult:
        """Simulate ``cfg`` (which must have this server's deploy key) in a child."""
        if deploy_key(cfg) != self.key:
            raise ValueError(f"this server deployed {self.key}, not {deploy_key(cfg)}")
        with self._lock:
            self._conn.send_bytes(pickle.dumps(cfg))
            status, payload = self._recv(timeout)
        if status == "ok":
            return payload  # type: ignore[no-any-return]
        if status == "raised":
            raise payload  # the case's own error, as a fresh run would raise it
        raise ForkServerError(str(payload))

    def _recv(self, timeout: float) -> tuple[str, Any]:
        if not self._conn.poll(timeout):
            self.close()
            raise ForkServerError(f"no answer from the fork server within {timeout:.0f} s")
        try:
            return pickle.loads(self._conn.recv_bytes())  # type: ignore[no-any-return]
        except (EOFError, OSError) as e:
            self.close()
            raise ForkServerError(f"the fork server died: {e}") from None

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None and not self._conn.closed

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)


def _serve(conn: Connection) -> None:
    """The server process: warm up, deploy, then fork a child per case."""
    from contextlib import ExitStack

    from harness.sim.clock import VirtualClock
    from harness.sim.simulation import deploy
    from harness.sim.simulator import simulate

    try:
        cfg: SimConfig = pickle.loads(conn.recv_bytes())
        # One throw-away run of a request makes every agent's clients (they are
        # made on first use) and loads every service model.
        simulate(replace(cfg, workload=None, requests=1, plan=None))
        stack = ExitStack()  # kept open (and referenced) for the server's life
        deployed = deploy(cfg, stack, VirtualClock())
    except BaseException as e:  # noqa: BLE001 - reported to the caller, who decides
        _answer(conn, ("error", f"{type(e).__name__}: {e}".splitlines()[0]))
        return
    # What the children share stays shared: the collector leaves it alone
    # (otherwise its first pass writes to, and so copies, every page).
    gc.collect()
    gc.freeze()
    _answer(conn, ("ready", None))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            os._exit(0)  # the caller went away
        case: SimConfig = pickle.loads(data)
        pid = os.fork()
        if pid == 0:
            _child(conn, case, deployed)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            code = os.waitstatus_to_exitcode(status)
            why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            _answer(conn, ("died", f"the case's child process ended before answering ({why})"))


def _answer(conn: Connection, message: tuple[str, Any]) -> None:
    """Send ``message`` to the caller; if the caller went away, end quietly."""
    try:
        conn.send_bytes(pickle.dumps(message))
    except OSError:
        os._exit(0)


def _child(conn: Connection, cfg: SimConfig, deployed: Any) -> None:
    """In the forked child: run the case from the deployed state, answer, exit
    (nothing is torn down: the process ends)."""
    from harness.sim.simulation import Simulation

    code = 0
    try:
        sim = Simulation(cfg, deployed)
        sim.start()
        sim.submit_all()
        sim.run()
        answer: tuple[str, Any] = ("ok", sim.result())
    except BaseException as e:  # noqa: BLE001 - the caller re-raises it
        answer = ("raised", e)
    try:
        blob = pickle.dumps(answer)
    except Exception:  # an exception that does not pickle
        blob = pickle.dumps(("raised", RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}"[:2000])))
    try:
        conn.send_bytes(blob)
    except OSError:
        code = 1
    os._exit(code)


_SERVERS: dict[tuple[str, str, int], ForkServer] = {}
_GUARD = threading.Lock()


def server_for(cfg: SimConfig) -> ForkServer:
    """This process's server for ``cfg``'s deployed state (started on first use)."""
    key = deploy_key(cfg)
    assert key is not None
    with _GUARD:
        s = _SERVERS.get(key)
        if s is not None and not s.alive:
            s.close()
            s = None
        if s is None:
            while len(_SERVERS) >= MAX_SERVERS:
                _SERVERS.pop(next(iter(_SERVERS))).close()
            s = _SERVERS[key] = ForkServer(cfg)
        return s


def simulate(cfg: SimConfig) -> SimResult:
    """:func:`harness.sim.simulate`, from a fork server's deployed state when
    that pays (:func:`worth_forking`); the same result either way."""
    from harness.sim.simulator import simulate as fresh

    if not worth_forking(cfg):
        return fresh(cfg)
    try:
        server = server_for(cfg)
    except ForkServerError:
        # The server warms up and deploys with this case's own configuration:
        # a case that cannot even deploy raises its own error when run afresh.
        return fresh(cfg)
    return server.run(cfg)


def shutdown() -> None:
    """Stop every server this process started."""
    with _GUARD:
        while _SERVERS:
            _SERVERS.popitem()[1].close()


atexit.register(shutdown)

if __name__ == "__main__":  # the server process: ``python -m harness.sim.forkserver FD``
    _serve(Connection(int(sys.argv[1])))

__all__ = [
    "WORTH_FORKING",
    "ForkServer",
    "ForkServerError",
    "enabled",
    "mode",
    "server_for",
    "shutdown",
    "simulate",
    "worth_forking",
]
