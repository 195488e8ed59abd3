"""The property suite against the system under test: the reference system,
or whatever ``--harness-worker`` plugs in."""

from __future__ import annotations

import pytest

from harness.suite import SystemProperties


@pytest.mark.slow
class TestSystemUnderTest(SystemProperties):
    """every_request_finishes_safely (12 examples) and split_brain_is_safe (5)."""
