"""Run explored cases on a Dask distributed cluster.

The scheduler decides which worker runs which case; this module only
connects a :class:`distributed.Client`, keeps a bounded number of cases in
flight, and hands back each :class:`~harness.explore.outcome.Outcome` as it
completes. Every worker process must be able to import the harness and the
system under test (see ``docs/explore-cluster.md``)::

    with DaskExecutor("tcp://10.0.0.5:8786") as ex:
        for outcome in ex.run(cases):
            ...

Each worker process sets itself up once, before its first case
(:class:`WorkerSetup`): it imports the harness and the system and runs one
empty case of it, so that imports and the emulator's lazily built state are
paid for outside the campaign's cases.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

try:
    from distributed import Client, Future, as_completed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as e:  # pragma: no cover - depends on what is installed
    raise ModuleNotFoundError(
        "running cases on a Dask cluster needs the cluster extra: pip install 'mas-harness[cluster]'",
        name=e.name,
    ) from e

from harness.explore.outcome import Outcome, run_case

log = logging.getLogger(__name__)

#: Seconds to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT = 10.0

#: Cases kept in flight per worker thread: enough that no thread waits for
#: its next case to arrive, few enough that a time-boxed campaign stops soon.
IN_FLIGHT_PER_THREAD = 2

#: The name the set-up plugin is registered under (registering again replaces it).
PLUGIN_NAME = "harness-worker-setup"

# One simulated case at a time per process: the simulator patches
# process-wide state (in-process moto, the clock), so two threads of one
# worker must not simulate at once.
_RUN_LOCK = threading.Lock()
_WARMED: set[str] = set()


class ClusterError(OSError):
    """The cluster cannot be used: the scheduler is unreachable, has no
    workers, or was lost. The message is one line."""


def check_address(address: str) -> str:
    """The scheduler's address, once it looks like ``tcp://HOST:PORT``; a
    ``ValueError`` (one line) otherwise."""
    parts = urlsplit(address.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"Dask scheduler address {address!r} must look like tcp://HOST:PORT")
    return f"tcp://{parts.netloc}"


# -- on the workers ----------------------------------------------------------------------


def _warm_key(case: dict[str, Any]) -> str:
    return json.dumps([case.get("system", "") or "", case.get("options") or {}], sort_keys=True)


def warm(case: dict[str, Any], checkers: list[str] | None = None) -> None:
    """Set this process up for cases of ``case``'s system and options, once:
    import the harness and the system, and run an empty case of it (no
    requests, no faults). A system that cannot load is left for its cases to
    report."""
    key = _warm_key(case)
    with _RUN_LOCK:
        if key in _WARMED:
            return
        _WARMED.add(key)
        empty = {"seed": 0, "system": case.get("system", "") or "", "options": case.get("options") or {}}
        outcome = run_case(empty, checkers)
    if outcome.error:
        log.warning("set-up of %s failed: %s", key, outcome.error)


def run_on_worker(case: dict[str, Any], checkers: list[str] | None = None) -> Outcome:
    """:func:`~harness.explore.outcome.run_case`, one at a time in this process."""
    with _RUN_LOCK:
        return run_case(case, checkers)


class WorkerSetup(WorkerPlugin):
    """A Dask worker plugin: :func:`warm` for one case's system, in each
    worker process, as it joins (or at once, for workers already there)."""

    name = PLUGIN_NAME

    def __init__(self, case: dict[str, Any], checkers: list[str] | None = None) -> None:
        self.case = {"system": case.get("system", "") or "", "options": case.get("options") or {}}
        self.checkers = checkers

    async def setup(self, worker: Any) -> None:
        # Off the worker's event loop, which must keep answering the scheduler meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, warm, self.case, self.checkers)


# -- on the client -----------------------------------------------------------------------


class DaskExecutor:
    """Runs cases on the Dask cluster whose scheduler is at ``address``
    (``tcp://HOST:PORT``), ``jobs`` (the cluster's worker threads) at a time.

    Raises :class:`ClusterError` when the scheduler does not answer within
    ``connect_timeout`` seconds or no worker joins it in that time, and
    ``ValueError`` for an address of the wrong form. ``in_flight`` bounds the
    cases submitted and not yet handed back (default: two per worker thread),
    so an endless stream of cases is read only as fast as it is run."""

    def __init__(
        self,
        address: str,
        *,
        checkers: list[str] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        in_flight: int | None = None,
    ) -> None:
        if not connect_timeout > 0:
            raise ValueError(f"connect_timeout must be a positive number of seconds, not {connect_timeout!r}")
        if in_flight is not None and in_flight < 1:
            raise ValueError(f"in_flight must be at least 1, not {in_flight!r}")
        self.address = check_address(address)
        self.checkers = None if checkers is None else list(checkers)
        self.connect_timeout = connect_timeout
        self._in_flight = in_flight
        self._warmed: set[str] = set()
        self.client = self._connect()
        self.jobs = self._threads()

    def _connect(self) -> Client:
        try:
            client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except OSError as e:  # TimeoutError among them
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.address} within {self.connect_timeout:g} s: "
                + _one_line(e)
            ) from None
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout)
        except OSError:
            client.close()
            raise ClusterError(
                f"the Dask scheduler at {self.address} has no workers "
                f"(none joined within {self.connect_timeout:g} s)"
            ) from None
        return client

    def _threads(self) -> int:
        nthreads: dict[str, int] = self.client.nthreads()
        if any(n > 1 for n in nthreads.values()):
            log.warning(
                "some Dask workers have more than one thread: each worker process runs one case at a "
                "time; start workers with --nthreads 1 and --nworkers N for N cases at once"
            )
        return max(1, sum(nthreads.values()))

    def _ensure_warm(self, case: dict[str, Any]) -> None:
        """Register the set-up plugin for this case's system, the first time
        one of its cases is submitted: every worker sets itself up before
        running it, and so does every worker that joins later."""
        key = _warm_key(case)
        if key in self._warmed:
            return
        self._warmed.add(key)
        digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        self.client.register_plugin(WorkerSetup(case, self.checkers), name=f"{PLUGIN_NAME}-{digest}")

    def run(self, cases: Iterable[dict[str, Any]]) -> Iterator[Outcome]:
        """Submit ``cases``, at most ``in_flight`` unfinished at once, and
        yield each one's outcome as it completes (not in submission order).
        A case whose worker died under it comes back as an error outcome;
        losing the scheduler raises :class:`ClusterError`. Closing the
        iterator early cancels the cases still in flight."""
        self.jobs = self._threads()
        limit = self._in_flight or IN_FLIGHT_PER_THREAD * self.jobs
        source = iter(cases)
        pending: dict[str, tuple[Future, dict[str, Any]]] = {}
        done = as_completed(loop=self.client.loop)

        def submit_next() -> bool:
            case = next(source, None)
            if case is None:
                return False
            self._ensure_warm(case)
            fut = self.client.submit(run_on_worker, case, self.checkers, pure=False)
            pending[fut.key] = (fut, case)
            done.add(fut)
            return True

        try:
            while len(pending) < limit and submit_next():
                pass
            for fut in done:
                _, case = pending.pop(fut.key)
                outcome = self._outcome(fut, case)
                fut.release()
                yield outcome
                submit_next()
        finally:
            if pending and self.client.status == "running":
                self.client.cancel([f for f, _ in pending.values()])
            pending.clear()

    def _outcome(self, fut: Future, case: dict[str, Any]) -> Outcome:
        try:
            return fut.result()
        except Exception as e:  # the case's own failure, or the cluster's
            if self.client.status != "running":
                raise ClusterError(f"lost the Dask scheduler at {self.address}: {_one_line(e)}") from None
            return Outcome(case=case, failed=True, error=f"{type(e).__name__}: {_one_line(e)}")

    def close(self) -> None:
        """Disconnect from the cluster (which keeps running)."""
        if self.client.status not in ("closed", "closing"):
            self.client.close(timeout=self.connect_timeout)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


__all__ = ["CONNECT_TIMEOUT", "ClusterError", "DaskExecutor", "WorkerSetup", "check_address", "warm"]
