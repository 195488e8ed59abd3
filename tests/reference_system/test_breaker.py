from __future__ import annotations

from reference_system.breaker import CLOSED, HALF_OPEN, OPEN, Breakers, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_consecutive_failures() -> None:
    b = CircuitBreaker(threshold=3, cooldown=10, clock=Clock())
    b.failure()
    b.failure()
    b.success()  # resets the count
    b.failure()
    b.failure()
    assert b.state == CLOSED and b.allow()
    b.failure()
    assert b.state == OPEN and not b.allow()


def test_half_open_lets_one_trial_through_and_its_outcome_decides() -> None:
    clock = Clock()
    b = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    b.failure()
    clock.now = 9.9
    assert not b.allow()
    clock.now = 10.0
    assert b.allow() and b.state == HALF_OPEN
    assert not b.allow()  # only one trial at a time
    b.failure()
    assert b.state == OPEN and not b.allow()
    clock.now = 20.0
    assert b.allow()
    b.success()
    assert b.state == CLOSED and b.allow() and b.allow()


def test_transitions_are_reported_per_capability() -> None:
    seen: list[tuple[str, str, str]] = []
    clock = Clock()
    bs = Breakers(threshold=1, cooldown=1, clock=clock, on_change=lambda c, a, b: seen.append((c, a, b)))
    bs["write"].failure()
    clock.now = 1
    bs["write"].allow()
    bs["write"].success()
    assert bs["research"].state == CLOSED
    assert seen == [("write", CLOSED, OPEN), ("write", OPEN, HALF_OPEN), ("write", HALF_OPEN, CLOSED)]
