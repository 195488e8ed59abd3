"""What the pytest plugin builds its fixtures from: the session's settings,
one test's harness state and its checks, the running reference system and the
simulator runner. Usable without pytest too."""

from harness.testing.config import BACKENDS, HarnessConfig, resolve_plan
from harness.testing.run import Checks, TestRun

__all__ = ["BACKENDS", "Checks", "HarnessConfig", "TestRun", "resolve_plan"]
