from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

import harness
from harness.backends import Endpoints
from harness.faults import Fault, FaultInjector, FaultPlan, Target, Trigger
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session
from reference_system.ledger import Ledger
from reference_system.resources import deploy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts(endpoints: Endpoints) -> tuple[Ledger, Clock]:
    res = deploy(plain_session(endpoints))
    clock = Clock()
    return Ledger(plain_session(endpoints).client("dynamodb"), res.idempotency_table, clock=clock), clock


def test_budget_is_charged_across_attempts(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    h = ledger.hold("s", 100, 100)
    assert h
    ledger.settle("s", h, 30)
    assert ledger.spent("s") == (30, 0)
    h = ledger.hold("s", 70, 100)  # exactly what is left
    assert h
    assert not ledger.hold("s", 1, 100)  # nothing left while it is held
    ledger.settle("s", h, 70)
    assert ledger.spent("s") == (100, 0)
    assert not ledger.hold("s", 1, 100)


def test_two_attempts_cannot_hold_the_same_tokens(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    assert ledger.hold("s", 80, 100)
    assert ledger.hold("s", 80, 100) is None
    assert ledger.spent("s") == (0, 80)


def test_a_settle_tried_twice_charges_once(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    h = ledger.hold("s", 100, 100)
    assert h
    assert ledger.settle("s", h, 30)
    assert ledger.settle("s", h, 30)  # a retry after a lost answer
    assert ledger.spent("s") == (30, 0)


def test_a_hold_left_by_a_dead_attempt_is_taken_back(parts: tuple[Ledger, Clock]) -> None:
    ledger, clock = parts
    assert ledger.hold("s", 100, 100)  # then the attempt dies without settling
    clock.now += 60
    assert ledger.spent("s") == (0, 100)  # still presumed alive
    clock.now += 61
    assert ledger.spent("s") == (0, 0)
    assert ledger.hold("s", 100, 100)


def test_only_the_holds_of_dead_attempts_are_taken_back(parts: tuple[Ledger, Clock]) -> None:
    ledger, clock = parts
    dead = ledger.hold("s", 60, 100)
    assert dead
    clock.now += 100
    live = ledger.hold("s", 40, 100)
    assert live
    clock.now += 21
    assert ledger.spent("s") == (0, 40)  # the first is taken back, the second is not
    assert ledger.settle("s", live, 10)
    assert ledger.spent("s") == (10, 0)
    # The presumed-dead attempt settles after all: what it used is charged, once.
    assert ledger.settle("s", dead, 50)
    assert ledger.spent("s") == (60, 0)
    assert ledger.settle("s", dead, 50)  # a retry after a lost answer
    assert ledger.spent("s") == (60, 0)
    assert ledger.hold("s", 40, 100) and not ledger.hold("s", 1, 100)


def _throttled_updates(endpoints: Endpoints, trigger: Trigger) -> Any:
    recorder = Recorder()
    plan = FaultPlan(
        seed=0,
        faults=[
            Fault(kind="throttle", target=Target(service="dynamodb", operation="UpdateItem"), trigger=trigger)
        ],
    )
    session = harness.session(endpoints, "worker-1", recorder)
    FaultInjector(plan, recorder).install(session)
    return session.client("dynamodb")


def test_a_failed_settle_is_owed_and_paid_before_the_next_read(endpoints: Endpoints) -> None:
    res = deploy(plain_session(endpoints))
    # The second UpdateItem of this worker is its settle: throttled, as the SDK gives up.
    mine = Ledger(_throttled_updates(endpoints, Trigger(nth=2)), res.idempotency_table)
    other = Ledger(plain_session(endpoints).client("dynamodb"), res.idempotency_table)

    h = mine.hold("s", 100, 100)
    assert h
    assert mine.settle("s", h, 30) is False
    assert mine.owed == {("s", h): 30}
    assert other.spent("s") == (0, 100)  # another worker still sees the hold
    assert mine.settle_owed() == 0 and not mine.owed
    assert other.spent("s") == (30, 0)
    assert mine.spent("s") == (30, 0)


def test_a_hold_whose_settle_is_owed_is_not_taken_back_by_its_owner(
    endpoints: Endpoints, parts: tuple[Ledger, Clock]
) -> None:
    other, clock = parts
    table = other._table
    h = other.hold("s", 100, 100)
    assert h
    # This worker owes the settle and cannot pay it: every UpdateItem is throttled.
    mine = Ledger(_throttled_updates(endpoints, Trigger(probability=1.0)), table, clock=clock)
    mine.owed[("s", h)] = 40
    clock.now += 121
    assert mine.spent("s") == (0, 100)  # still owed, so still held
    assert mine.owed == {("s", h): 40}
    assert other.spent("s") == (0, 0)  # anyone else takes the old hold back
    other.owed.update(mine.owed)  # the owner pays after all, once
    assert other.settle_owed() == 0
    assert other.spent("s") == (40, 0)


def test_a_settle_that_cannot_succeed_is_raised_not_owed(endpoints: Endpoints) -> None:
    ledger = Ledger(plain_session(endpoints).client("dynamodb"), "no-such-table")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        ledger.settle("s", "hold_1_10_abc", 5)
    assert not ledger.owed
    ledger.owed[("s", "hold_1_10_abc")] = 5
    assert ledger.settle_owed() == 0  # given up, not retried for ever


def test_what_is_owed_is_paid_by_the_next_read(endpoints: Endpoints) -> None:
    res = deploy(plain_session(endpoints))
    ddb = plain_session(endpoints).client("dynamodb")
    ledger = Ledger(ddb, res.idempotency_table)
    h = ledger.hold("s", 100, 100)
    assert h
    ledger.owed[("s", h)] = 25  # as a failed settle leaves it
    assert ledger.spent("other") == (0, 0)
    assert not ledger.owed
    assert ledger.spent("s") == (25, 0)


def test_results_are_kept_for_redeliveries(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    assert ledger.result("s") is None
    ledger.save_result("s", {"status": "ok", "output": {"facts": [1, 2]}})
    assert ledger.result("s") == {"status": "ok", "output": {"facts": [1, 2]}}
