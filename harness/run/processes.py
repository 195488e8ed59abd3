"""Starting and stopping agent processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from harness.backends.endpoints import Endpoints


def spawn(args: list[str], endpoints: Endpoints, log: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m reference_system.agent ARGS`` with the backend in its environment."""
    env = {**os.environ, **endpoints.to_env(), "HARNESS_ENDPOINTS": endpoints.to_json()}
    fh = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "reference_system.agent", *args],
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(procs: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM every process, wait up to ``grace`` seconds, then kill what is left."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
