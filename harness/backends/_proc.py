"""Local server processes: free loopback ports, readiness, and a clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from harness import settings
from harness.backends.embedded import BackendError


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago.

    Another process may take it before the server binds it; callers retry
    with a fresh port when the server reports it in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((settings.LOOPBACK, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether anything listens on ``port`` (any interface): servers that
    bind every interface would otherwise collide with one on loopback only."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("", port))
        except OSError:
            return True
    return False


class Server:
    """One server process in its own session, with its output in a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> None:
        self.name = name
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def last_line(self) -> str:
        try:
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no output"
        return lines[-1].strip()[:300] if lines else "no output"

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> float:
        """Poll ``probe`` until it is true; returns the seconds it took."""
        t0 = time.monotonic()
        while True:
            if not self.alive():
                raise BackendError(
                    f"{self.name} exited with code {self.proc.returncode} while starting: {self.last_line()}"
                )
            with contextlib.suppress(Exception):
                if probe():
                    return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise BackendError(f"{self.name} not ready after {timeout:.0f}s: {self.last_line()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask the process group to stop (SIGTERM); :meth:`stop` waits for it."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, wait ``grace`` seconds, then SIGKILL it."""
        try:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
            # Children left in the group (the leader may be gone already).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        finally:
            self._fh.close()


def stop_all(servers: list[Server], grace: float = 10.0) -> None:
    """Stop several servers at once: SIGTERM to all, then wait for each."""
    for s in servers:
        s.terminate()
    for s in servers:
        s.stop(grace)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers a GET with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False
