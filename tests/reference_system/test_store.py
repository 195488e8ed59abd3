from __future__ import annotations

import threading

import pytest

import harness
from harness.backends import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.effects import Effects
from reference_system.resources import deploy
from reference_system.states import InvalidTransition
from reference_system.store import VersionedStore


@pytest.fixture
def store(endpoints: Endpoints, recorder: Recorder) -> VersionedStore:
    res = deploy(harness.session(endpoints, "deploy", recorder))
    return VersionedStore(
        harness.session(endpoints, "s", recorder).client("dynamodb"), res.tasks_table, Effects(recorder, "s")
    )


def test_concurrent_read_modify_write_loses_no_update(endpoints: Endpoints, store: VersionedStore) -> None:
    store.create("counter", {"n": 0, "kind": "counter"})
    threads_n, per_thread = 8, 10

    def bump() -> None:
        # Each thread gets its own client (botocore clients are thread-safe, but
        # separate ones give real interleaving of read and write).
        mine = VersionedStore(harness.session(endpoints, "t").client("dynamodb"), store.table)
        for _ in range(per_thread):
            mine.update("counter", lambda item: {"n": item["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = store.get("counter")
    assert item is not None
    assert item["n"] == threads_n * per_thread
    assert item["version"] == 1 + threads_n * per_thread


def test_transitions_follow_the_state_machine(store: VersionedStore, recorder: Recorder) -> None:
    store.create("t1", {"state": "pending"})
    assert store.transition("t1", "dispatched") == "pending"
    assert store.transition("t1", "dispatched") is None  # repeated event: no-op
    with pytest.raises(InvalidTransition):
        store.transition("t1", "done")  # dispatched -> done skips running
    assert store.transition("t1", "running") == "dispatched"
    assert store.transition("t1", "done") == "running"
    assert store.transition("t1", "running") is None  # late event after a terminal state
    notes = [o.value for o in recorder.ops if o.f == "state.transition" and o.type == "ok"]
    assert notes == [
        {"from": "pending", "to": "dispatched"},
        {"from": "dispatched", "to": "running"},
        {"from": "running", "to": "done"},
    ]


def test_stale_cache_costs_a_reread_not_a_lost_update(endpoints: Endpoints, store: VersionedStore) -> None:
    cached = VersionedStore(harness.session(endpoints, "c").client("dynamodb"), store.table, cache=True)
    cached.create("x", {"n": 0})
    store.update("x", lambda it: {"n": it["n"] + 10})  # behind the cache's back
    cached.update("x", lambda it: {"n": it["n"] + 1})
    assert store.get("x")["n"] == 11


def test_a_move_back_to_an_earlier_state_is_left_alone(store: VersionedStore, recorder: Recorder) -> None:
    store.create("t1", {"state": "pending"})
    store.transition("t1", "dispatched")
    store.transition("t1", "running")
    assert store.transition("t1", "dispatched") is None  # stale: running is past dispatched
    assert store.transition("t1", "pending") is None
    assert store.get("t1", fresh=True)["state"] == "running"
    moves = [o.value for o in recorder.ops if o.f == "state.transition" and o.type == "ok"]
    assert moves == [{"from": "pending", "to": "dispatched"}, {"from": "dispatched", "to": "running"}]
    store.create("t2", {"state": "pending"})
    with pytest.raises(InvalidTransition):  # a forward move that skips a state is still a bug
        store.transition("t2", "running")
