"""The local executor: cases run in ``jobs`` worker processes on this machine
(forked, so they start with every module the parent imported), or in this
process when ``jobs`` is 1.

At most ``2 * jobs`` cases are in flight; the next case is drawn from the
iterable only when there is room, so a campaign bounded by time stops
drawing when its time is up. The workers ignore SIGINT: Ctrl-C reaches the
campaign, which closes the executor; closing a busy executor lets the
cases running finish (for up to :data:`GRACE` seconds) and then ends the
workers it started (by their process ids)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from harness.explore.outcome import Outcome, run_case

#: Seconds a closing executor waits for the cases running before it ends their workers.
GRACE = 10.0
#: Seconds :meth:`LocalExecutor.start` waits for every worker to set itself up.
WARM_TIMEOUT = 300.0


def _init(barrier: Any, warm: dict[str, Any] | None) -> None:
    """A worker's set-up: Ctrl-C is the campaign's to handle; one empty case
    of the system (its imports, clients, the simulator's deployed state)
    before the first real one; then it waits for the other workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if warm is not None:
        run_case(warm)  # never raises: a system that cannot load is left for its cases to report
    with contextlib.suppress(Exception):
        barrier.wait(timeout=WARM_TIMEOUT)


def warm_case(system: str = "", options: dict[str, Any] | None = None) -> dict[str, Any]:
    """An empty case of a system (no requests, no faults): what a worker runs to set itself up."""
    return {"seed": 0, "system": system, "options": dict(options or {})}


def _nothing() -> None:
    return None


def preload() -> None:
    """Import what running a case needs, so that forked workers share it
    rather than each importing it again."""
    import harness.checkers  # noqa: F401
    import harness.sim.checks  # noqa: F401
    import harness.sim.simulator  # noqa: F401


class LocalExecutor:
    """Runs cases here, ``jobs`` at a time (see the module docstring)."""

    def __init__(self, jobs: int = 1, checkers: list[str] | None = None) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be 1 or more, not {jobs}")
        self.jobs = jobs
        self.checkers = checkers
        self._pool: ProcessPoolExecutor | None = None
        self._pids: set[int] = set()
        self._in_flight = 0
        self._warmed = False

    def start(self, warm: dict[str, Any] | None = None) -> None:
        """Start the worker processes now (before any thread of a progress
        display exists: forking a process with threads is best avoided) and
        wait until each has set itself up; ``warm``: a case each runs first
        (:func:`warm_case`), so that no campaign case pays for that. With
        ``jobs`` 1, ``warm`` runs here."""
        if self._pool is not None or self._warmed:
            return
        if self.jobs == 1:
            if warm is not None:
                run_case(warm)
            self._warmed = True
            return
        preload()
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(self.jobs + 1)
        before = {p.pid for p in multiprocessing.active_children()}
        pool = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init, initargs=(barrier, warm))
        first = pool.submit(_nothing)  # with fork, every worker starts at the first submit
        self._pids = {p.pid for p in multiprocessing.active_children() if p.pid is not None} - before
        self._pool = pool
        try:
            barrier.wait(timeout=WARM_TIMEOUT)
        except threading.BrokenBarrierError:  # a worker that never got ready: the others go on
            pass
        except BaseException:  # Ctrl-C: release the workers, so that closing does not wait for them
            barrier.abort()
            raise
        first.result()

    def run(self, cases: Iterable[dict[str, Any]]) -> Iterator[Outcome]:
        """Outcomes as the cases complete (with ``jobs`` 1: in order)."""
        if self.jobs == 1:
            for case in cases:
                yield run_case(case, self.checkers)
            return
        yield from self._run_pool(iter(cases))

    def _run_pool(self, cases: Iterator[dict[str, Any]]) -> Iterator[Outcome]:
        self.start()
        pending: dict[Future[Outcome], dict[str, Any]] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * self.jobs:
                    case = next(cases, None)
                    if case is None:
                        exhausted = True
                    else:
                        pending[self._submit(case)] = case
                self._in_flight = len(pending)
                if not pending:
                    return
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                broken = False
                for f in done:
                    case = pending.pop(f)
                    try:
                        yield f.result()
                    except BrokenProcessPool:
                        broken = True
                        yield _lost(case, "WorkerLost: the process running the case died")
                    except Exception as e:  # an outcome that could not come back
                        yield _lost(case, f"WorkerError: {type(e).__name__}: {e}")
                if broken:  # a worker was killed (out of memory?): the others' cases are lost too
                    for case in pending.values():
                        yield _lost(case, "WorkerLost: the process running the case died")
                    pending.clear()
                    self.close()
        finally:
            self._in_flight = len(pending)

    def _submit(self, case: dict[str, Any]) -> Future[Outcome]:
        self.start()
        assert self._pool is not None
        return self._pool.submit(run_case, case, self.checkers)

    def close(self) -> None:
        """Stop. Idle workers are shut down; busy ones (an interrupted
        campaign) are ended, with what had not started cancelled."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._in_flight == 0:
            pool.shutdown(wait=True)
        else:
            # The cases running finish (for up to GRACE seconds, so that whatever a
            # case started, a fork server, is left in order); then their workers end.
            pool.shutdown(wait=False, cancel_futures=True)
            mine = [p for p in multiprocessing.active_children() if p.pid in self._pids]
            deadline = time.monotonic() + GRACE
            for p in mine:
                p.join(timeout=max(0.0, deadline - time.monotonic()))
            for p in mine:
                if p.is_alive() and p.pid is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(p.pid, signal.SIGTERM)
                    p.join(timeout=5)
        self._pids, self._in_flight = set(), 0

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost(case: dict[str, Any], error: str) -> Outcome:
    return Outcome(case=case, failed=True, error=error)


__all__ = ["GRACE", "LocalExecutor", "preload", "warm_case"]
