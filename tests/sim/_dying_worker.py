"""A research worker whose process is killed outright (SIGKILL) as it handles
its first subtask: what a child of the fork server that dies looks like."""

from __future__ import annotations

import os
import signal
from typing import Any

from reference_system.workers import ResearchWorker


class DyingResearcher(ResearchWorker):
    def handle(self, task: Any, ctx: Any) -> dict[str, Any]:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")
