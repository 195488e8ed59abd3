"""The state machine over the simulator: submit, deliver, go on, duplicate,
crash a worker, advance the clock; safety after every rule, liveness at the end."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from harness.sim.machine import machine_for


@pytest.mark.slow
def test_the_system_under_test_survives_any_sequence_of_rules(harness_config: Any) -> None:
    run_state_machine_as_test(
        machine_for(harness_config.system),
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
