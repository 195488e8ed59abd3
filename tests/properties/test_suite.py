"""The property suite against the system under test: the reference system,
or whatever ``--harness-worker`` plugs in."""

from __future__ import annotations

import pytest

from harness.suite import SystemProperties


@pytest.mark.slow
class TestSystemUnderTest(SystemProperties):
    """split_brain_is_safe, survives_model_faults, survives_worker_faults,
    survives_supervisor_faults (see harness.suite.EXAMPLES for how many examples)."""
