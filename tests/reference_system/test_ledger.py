from __future__ import annotations

import pytest

from harness.backends import Endpoints
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
    assert ledger.hold("s", 100, 100)
    ledger.settle("s", 100, 30)
    assert ledger.spent("s") == (30, 0)
    assert ledger.hold("s", 70, 100)  # exactly what is left
    assert not ledger.hold("s", 1, 100)  # nothing left while it is held
    ledger.settle("s", 70, 70)
    assert ledger.spent("s") == (100, 0)
    assert not ledger.hold("s", 1, 100)


def test_two_attempts_cannot_hold_the_same_tokens(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    assert ledger.hold("s", 80, 100)
    assert not ledger.hold("s", 80, 100)
    assert ledger.spent("s") == (0, 80)


def test_a_hold_left_by_a_dead_attempt_is_taken_back(parts: tuple[Ledger, Clock]) -> None:
    ledger, clock = parts
    assert ledger.hold("s", 100, 100)  # then the attempt dies without settling
    clock.now += 60
    assert ledger.spent("s") == (0, 100)  # still presumed alive
    clock.now += 61
    assert ledger.spent("s") == (0, 0)
    assert ledger.hold("s", 100, 100)


def test_results_are_kept_for_redeliveries(parts: tuple[Ledger, Clock]) -> None:
    ledger, _ = parts
    assert ledger.result("s") is None
    ledger.save_result("s", {"status": "ok", "output": {"facts": [1, 2]}})
    assert ledger.result("s") == {"status": "ok", "output": {"facts": [1, 2]}}
