"""Starting, stopping, pausing and resuming agent processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from harness.backends.endpoints import Endpoints

#: The pid of the process that started an agent (see ``--exit-with-parent``).
PARENT_PID_ENV = "HARNESS_PARENT_PID"


def spawn(
    args: list[str],
    endpoints: Endpoints,
    log: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``python -m harness.run.agent ARGS`` with the backend in its
    environment (plus ``env``), in a session of its own."""
    full = {
        **os.environ,
        **endpoints.to_env(),
        "HARNESS_ENDPOINTS": endpoints.to_json(),
        # --exit-with-parent compares against this, not against whatever its
        # parent is once it runs: the parent may already be gone by then.
        PARENT_PID_ENV: str(os.getpid()),
        **(env or {}),
    }
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "harness.run.agent", *args],
            env=full,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def signal_process(p: subprocess.Popen[bytes], sig: int) -> bool:
    """Send ``sig`` to ``p`` if it is still running; returns whether it was sent."""
    if p.poll() is not None:
        return False
    try:
        os.kill(p.pid, sig)
    except ProcessLookupError:
        return False
    return True


def pause(p: subprocess.Popen[bytes]) -> bool:
    """SIGSTOP: the process stops where it stands, mid-call or not."""
    return signal_process(p, signal.SIGSTOP)


def resume(p: subprocess.Popen[bytes]) -> bool:
    """SIGCONT a paused process (harmless on a running one)."""
    return signal_process(p, signal.SIGCONT)


def state(pid: int) -> str | None:
    """The kernel's one-letter state of ``pid`` (``R``, ``S``, ``T`` stopped,
    ``Z`` zombie, ...), or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
    return text.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    s = state(pid)
    return s is not None and s not in ("Z", "X")


def listening_pids(port: int) -> set[int]:
    """Processes holding a TCP socket that listens on ``port`` (Linux ``/proc``;
    empty where it cannot be read)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    if not inodes:
        return set()
    owners: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners.add(int(proc.name))
                break
    return owners


def stop(procs: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM every process (continuing any paused one first, so it can act
    on it), wait up to ``grace`` seconds, then kill what is left."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
