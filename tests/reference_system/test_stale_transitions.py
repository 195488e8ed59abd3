"""A stale or duplicate message never kills a supervisor: a move the stored
state has already gone past is left alone, decided from what is stored.

With two supervisors, one may send a subtask while the other, handling a
duplicated result, sends it too; the worker's result then moves it to
``running`` before the first supervisor records ``dispatched``. That late
``running -> dispatched`` once raised ``InvalidTransition`` and killed the
supervisor (found by a randomly seeded run of the suite; its case is kept in
``fixtures/cases/`` and replayed by ``tests/sim/test_regression_cases.py``).
"""

from __future__ import annotations

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from reference_system.states import TRANSITIONS, precedes
from tests.conftest import build_system


def test_precedes_follows_the_state_machine() -> None:
    assert precedes("dispatched", "running") and precedes("pending", "done")
    assert not precedes("running", "dispatched") and not precedes("done", "pending")
    for frm, tos in TRANSITIONS.items():
        for to in tos:
            assert precedes(frm, to) and not precedes(to, frm)


def test_a_supervisor_sending_a_subtask_another_moved_on_survives(endpoints: Endpoints) -> None:
    rec = Recorder()
    system = build_system(endpoints, rec)
    sup = system.supervisor
    sup.store.create("t1", {"kind": "task", "state": "running", "topic": "tides", "budget": 4000})
    sub = {"kind": "subtask", "task_id": "t1", "capability": "write", "state": "running", "budget": 900}
    sup.store.create("t1/write/0", {**sub, "inputs": {"facts": []}})
    task = sup.store.get("t1", fresh=True)
    assert task is not None
    # This supervisor's snapshot is older than the store: it still sees the subtask pending.
    sup._send_subtask(task, {**sub, "pk": "t1/write/0", "state": "pending", "inputs": {"facts": []}})
    after = sup.store.get("t1/write/0", fresh=True)
    assert after is not None and after["state"] == "running"
    assert [o for o in rec.ops if o.f == "sqs.SendMessage" and o.type == "ok"]  # it did send (at least once)
