"""A case run from a fork server's deployed state gives the history a fresh
run gives, byte for byte; what goes wrong in a child comes back as the error
it is, and the server goes on serving."""

from __future__ import annotations

import hashlib

import pytest

from harness.faults.plan import FaultPlan
from harness.history.jsonl import dumps_op
from harness.sim import forkserver
from harness.sim.case import Case
from harness.sim.config import SimConfig
from harness.sim.simulator import simulate

WORKLOAD = [{"request_id": "r0", "token_budget": 4000, "topic": "battery storage"}]
CRASH = {"kind": "crash", "target": {"agent": "write-1"}, "trigger": {"nth": 1}}
DUPLICATE = {
    "kind": "duplicate_delivery",
    "target": {"agent": "research-1", "operation": "ReceiveMessage", "service": "sqs"},
    "trigger": {"nth": 1},
}


def _digest(ops: list[object]) -> str:
    return hashlib.sha256(b"".join(dumps_op(op) for op in ops)).hexdigest()  # type: ignore[arg-type]


def _case(seed: int, faults: list[dict[str, object]], **kw: object) -> Case:
    plan = FaultPlan.parse(f'{{"faults": {__import__("json").dumps(faults)}}}', "test plan")
    return Case.of(seed, WORKLOAD, plan, **kw)  # type: ignore[arg-type]


CASES = [
    _case(1, []),
    _case(180, [DUPLICATE], schedule=[3], supervisors=2),
    _case(7, [CRASH], workers=2),
    _case(3, [], visibility_timeout=2),  # another deployed state
]


@pytest.fixture(scope="module", autouse=True)
def _servers() -> object:
    yield
    forkserver.shutdown()


@pytest.fixture(autouse=True)
def _always_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_FORK", "1")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c.seed}-vt{c.visibility_timeout}")
def test_a_forked_run_is_the_fresh_run_byte_for_byte(case: Case) -> None:
    fresh = simulate(case.config())
    forked = forkserver.simulate(case.config())
    again = forkserver.simulate(case.config())  # a second child of the same deployed state
    assert len(forked.ops) == len(fresh.ops) > 50
    assert _digest(forked.ops) == _digest(fresh.ops) == _digest(again.ops)
    assert forked.task_states == fresh.task_states and forked.stopped == fresh.stopped
    assert forked.choices == fresh.choices


def test_case_run_with_fork_gives_the_same_verdicts() -> None:
    case = CASES[1]
    (r1, v1), (r2, v2) = case.run(), case.run(fork=True)
    assert _digest(r1.ops) == _digest(r2.ops)
    assert [v.to_dict() for v in v1] == [v.to_dict() for v in v2]


def test_one_server_per_deployed_state() -> None:
    a = forkserver.server_for(CASES[0].config())
    assert forkserver.server_for(CASES[1].config()) is a  # same system, prefix, visibility timeout
    b = forkserver.server_for(CASES[3].config())
    assert b is not a and b.alive


def _raises_the_same_error_forked() -> SimConfig:
    """A case whose worker cannot be imported: the fork server raises what a fresh run raises."""
    bad = _case(1, []).config()
    bad.options = {"impls": {"research": "tests.sim.no_such_module:Worker"}}
    with pytest.raises(Exception) as fresh:
        simulate(bad)
    with pytest.raises(type(fresh.value)) as forked:
        forkserver.simulate(bad)
    assert str(forked.value) == str(fresh.value)
    return bad


def test_an_error_in_the_case_comes_back_as_itself() -> None:
    server = forkserver.server_for(CASES[0].config())  # deployed: the error is the child's
    bad = _raises_the_same_error_forked()
    assert server.alive and forkserver.server_for(bad) is server  # and the server goes on
    assert forkserver.simulate(CASES[0].config()).ops


def test_a_child_that_dies_is_a_clear_error_and_the_server_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = CASES[0].config()
    server = forkserver.server_for(cfg)
    cfg.options = {"impls": {"research": "tests.sim._dying_worker:DyingResearcher"}}
    with pytest.raises(forkserver.ForkServerError, match="killed by signal 9"):
        server.run(cfg)
    assert server.alive
    assert forkserver.simulate(CASES[0].config()).stopped == "finished"


def test_off_switch_runs_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_FORK", "0")
    assert not forkserver.enabled()
    assert _digest(forkserver.simulate(CASES[0].config()).ops) == _digest(simulate(CASES[0].config()).ops)


def test_a_system_given_as_an_object_runs_in_this_process() -> None:
    from harness.system import load_system

    cfg = CASES[0].config()
    cfg.system = load_system(None)
    assert forkserver.deploy_key(cfg) is None
    assert forkserver.simulate(cfg).ops


def test_a_run_that_fails_to_start_leaves_no_clock_or_backend_behind() -> None:
    import time

    from harness.sim.clock import EPOCH

    before = _digest(simulate(CASES[0].config()).ops)
    bad = CASES[0].config()
    bad.options = {"impls": {"research": "tests.sim.no_such_module:Worker"}}
    with pytest.raises(Exception):  # noqa: B017 - whatever the system raises for it
        simulate(bad)
    assert time.time() < EPOCH.timestamp()  # the virtual clock was stopped
    assert _digest(simulate(CASES[0].config()).ops) == before


def test_auto_forks_only_a_state_whose_deploy_was_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.sim.simulation import DEPLOY_SECONDS

    monkeypatch.setenv("HARNESS_FORK", "auto")
    cfg = CASES[0].config()
    key = forkserver.deploy_key(cfg)
    assert key is not None
    monkeypatch.setitem(DEPLOY_SECONDS, key, forkserver.WORTH_FORKING / 10)
    assert not forkserver.worth_forking(cfg)
    monkeypatch.setitem(DEPLOY_SECONDS, key, forkserver.WORTH_FORKING * 2)
    assert forkserver.worth_forking(cfg)
    monkeypatch.setenv("HARNESS_FORK", "sometimes")
    with pytest.raises(ValueError, match="HARNESS_FORK must be auto, 1 or 0"):
        forkserver.worth_forking(cfg)


def test_a_case_that_cannot_deploy_raises_its_own_error_even_as_the_first() -> None:
    forkserver.shutdown()  # no server for this state yet: the bad case would start it
    _raises_the_same_error_forked()
