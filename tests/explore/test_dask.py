"""Cases run on a real Dask cluster (a scheduler and two workers, started as
processes with Dask's own command line, on 127.0.0.1) come back exactly as
they do when run here, and a cluster that cannot be reached is a quick
one-line error."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.backends._proc import Server, free_port, stop_all
from harness.explore.dask_executor import ClusterError, DaskExecutor, _warm_key
from harness.explore.outcome import Outcome, run_case
from harness.sim.case import Case

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")
#: Generous: a slow, busy 2-CPU machine starts a Dask process in a few seconds.
START_TIMEOUT = 120.0

REQUEST = {"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}
LEAKY = {"impls": {"write": "tests.mutants.review_mutants:LeakyWriter"}}
INVENTED = {"impls": {"write": "tests.mutants.review_mutants:InventedSourceWriter"}}
MISSING = {"impls": {"write": "tests.mutants.review_mutants:NoSuchWriter"}}

#: Cases that fail in a second or two (writers whose brief the auditors
#: reject), one that passes, and one that cannot run at all.
CASES = [
    *(Case.of(seed, [REQUEST], options=LEAKY).to_json() for seed in (1, 2, 3)),
    Case.of(4, [REQUEST], options=INVENTED).to_json(),
    Case.of(5, [REQUEST]).to_json(),
    Case.of(6, [], options=MISSING).to_json(),
]


def _env() -> dict[str, str]:
    """The workers import the harness from the virtualenv and the test
    systems (``tests.mutants``) from the repository."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1.0):
        return True


@contextlib.contextmanager
def _scheduler(logs: Path) -> Iterator[tuple[str, Server]]:
    port = free_port()
    cmd = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    server = Server("dask scheduler", cmd, _env(), logs / f"scheduler-{port}.log", REPO)
    try:
        server.wait_ready(lambda: _listening(port), START_TIMEOUT)
        yield f"tcp://127.0.0.1:{port}", server
    finally:
        _stop([server])


def _worker(address: str, name: str, logs: Path) -> Server:
    cmd = [
        str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
        "--host", "127.0.0.1", "--name", name, "--local-directory", str(logs / name),
        "--death-timeout", "60",
    ]  # fmt: skip
    return Server(f"dask worker {name}", cmd, _env(), logs / f"{name}.log", REPO)


def _stop(servers: list[Server]) -> None:
    """Stop each process group and check that no process of it is left
    (a child the group's leader left behind is reaped by init a moment later)."""
    stop_all(servers, grace=30.0)
    deadline = time.monotonic() + 30.0
    for s in servers:
        assert s.proc.poll() is not None, f"{s.name} still running"
        while _group_alive(s.pid):
            assert time.monotonic() < deadline, f"a process of {s.name}'s group is left"
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_workers(address: str, n: int, workers: list[Server]) -> None:
    from distributed import Client

    with Client(address, timeout=START_TIMEOUT, set_as_default=False) as client:
        deadline = time.monotonic() + START_TIMEOUT
        while len(client.nthreads()) < n:
            dead = [w for w in workers if not w.alive()]
            assert not dead, f"{dead[0].name} exited: {dead[0].last_line()}"
            assert time.monotonic() < deadline, f"fewer than {n} workers joined in {START_TIMEOUT:.0f} s"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a scheduler with two one-thread workers."""
    logs = tmp_path_factory.mktemp("dask")
    with _scheduler(logs) as (address, _):
        workers = [_worker(address, f"w{i}", logs) for i in (1, 2)]
        try:
            _wait_for_workers(address, 2, workers)
            yield address
        finally:
            _stop(workers)


def _executed(dask_worker: Any) -> int:
    """Tasks this Dask worker has run (through ``Client.run``)."""
    return int(dask_worker.state.executed_count)


def _warmed() -> list[str]:
    """The systems this worker process has set itself up for."""
    from harness.explore import dask_executor

    return sorted(dask_executor._WARMED)


def _key(case: dict[str, Any]) -> str:
    return json.dumps(case, sort_keys=True)


def _summary(o: Outcome) -> tuple[Any, ...]:
    return (o.failed, o.violations, o.group, o.history_sha256, o.operations, o.error)


@pytest.mark.slow
def test_cases_on_two_workers_come_back_as_they_run_here(cluster: str) -> None:
    local = {_key(c): run_case(c) for c in CASES}
    with DaskExecutor(cluster, connect_timeout=30) as ex:
        assert ex.jobs == 2
        before = ex.client.run(_executed)
        remote = list(ex.run(CASES))
        after = ex.client.run(_executed)
        warmed = ex.client.run(_warmed)
    assert sorted(_key(o.case) for o in remote) == sorted(local)
    for o in remote:
        assert _summary(o) == _summary(local[_key(o.case)]), o.case
        if o.failed and not o.error:  # a failing case's history comes back with it
            assert hashlib.sha256(o.history).hexdigest() == o.history_sha256

    groups = {o.group for o in remote}
    assert {o.failed for o in remote} == {True, False}
    assert ("", "") in groups and any(g[0] == "error" for g in groups)
    assert len([g for g in groups if g[0] not in ("", "error")]) >= 2, groups  # two kinds of violation
    ran = [after[w] - before.get(w, 0) for w in after]
    assert len(ran) == 2 and all(ran) and sum(ran) == len(CASES), ran  # both workers took cases
    systems = {_warm_key(c) for c in CASES}
    assert all(systems <= set(w) for w in warmed.values()), warmed  # each set itself up for each system


@pytest.mark.slow
def test_an_endless_stream_of_cases_is_read_as_it_runs(cluster: str) -> None:
    drawn = 0

    def endless() -> Iterator[dict[str, Any]]:
        nonlocal drawn
        for seed in itertools.count():
            drawn += 1
            yield Case.of(seed, [], options=LEAKY).to_json()

    with DaskExecutor(cluster, connect_timeout=30, in_flight=3) as ex:
        outcomes = ex.run(endless())
        first = [next(outcomes) for _ in range(5)]
        outcomes.close()  # what a time-boxed campaign does: the cases in flight are cancelled
    assert len({o.case["seed"] for o in first}) == 5
    assert all(not o.error for o in first)
    assert drawn <= 5 + 3


def test_an_unreachable_scheduler_is_a_quick_one_line_error() -> None:
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as info:
        DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=2)
    assert time.monotonic() - t0 < 60  # the connect timeout, not a hang (generous: a busy machine)
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert "\n" not in message and f"127.0.0.1:{port}" in message, message


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://127.0.0.1", "http://h:1", "tcp://h:port"])
def test_a_malformed_address_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="tcp://HOST:PORT"):
        DaskExecutor(address)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_a_one_line_error(tmp_path: Path) -> None:
    with _scheduler(tmp_path) as (address, _), pytest.raises(ClusterError, match="no workers") as info:
        DaskExecutor(address, connect_timeout=2)
    assert "\n" not in str(info.value)
