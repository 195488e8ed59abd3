"""A run stopped at a random moment keeps everything it recorded: SIGINT and
SIGTERM make ``harness run`` merge its parts, mark its summary interrupted
and exit 128 + the signal; after SIGKILL the run directory's parts are
merged when it is read. No agent process or backend port is left behind."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.history.jsonl import iter_history
from harness.history.salvage import history_of, parts_of
from harness.run import processes
from tests.run.test_cli_run import _agents_of


def _lines(out: Path) -> int:
    n = 0
    for p in parts_of(out):
        with contextlib.suppress(OSError):
            n += p.read_bytes().count(b"\n")
    return n


def _recorded(paths: list[Path]) -> list[tuple[object, ...]]:
    """Every complete operation in ``paths``, without its index (merging re-indexes)."""
    out = []
    for p in paths:
        for line in p.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue  # a last line cut short by SIGKILL: never recorded whole
            d.pop("index", None)
            out.append(json.dumps(d, sort_keys=True))
    return sorted(out)  # type: ignore[return-value]


def _port(out: Path) -> int | None:
    try:
        m = re.search(r"127\.0\.0\.1:(\d+)", (out / "resources.json").read_text())
    except OSError:
        return None
    return int(m.group(1)) if m else None


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_run_stopped_at_a_random_moment_keeps_what_it_recorded(sig: signal.Signals, tmp_path: Path) -> None:
    out = tmp_path / "run"
    moment = random.Random(sig.value).randint(20, 400)  # operations recorded before the signal
    run = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--requests", "4", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while _lines(out) < moment and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if run.poll() is not None:
            pytest.fail(f"the run ended before {moment} operations were recorded: {run.stderr.read()!r}")
        port = _port(out)
        os.kill(run.pid, sig)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    if sig == signal.SIGKILL:
        assert run.returncode == -signal.SIGKILL
        assert not (out / "history.jsonl").exists()
    else:
        assert run.returncode == 128 + sig, err
        assert err.decode().strip().count("\n") == 0 and "Traceback" not in err.decode(), err
        summary = json.loads((out / "summary.json").read_text())
        assert summary["verdict"] == "interrupted" and summary["interrupted"] == sig.name
    parts = parts_of(out)
    if sig == signal.SIGKILL:  # the commands that read a run merge a killed run's parts
        for cmd in ("check", "report"):
            read = subprocess.run(
                [sys.executable, "-m", "harness.cli", cmd, str(out)], capture_output=True, timeout=300
            )
            assert read.returncode in (0, 1, 3), read.stderr
            assert b"Traceback" not in read.stderr
        assert (out / "report.html").is_file()
    history = history_of(out)
    assert _recorded(parts) == _recorded([history])
    assert sum(1 for _ in iter_history(history)) >= moment - 1
    deadline = time.monotonic() + 30
    while (_agents_of(out) or (port and processes.listening_pids(port))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _agents_of(out) == []
    assert port is None or not processes.listening_pids(port)
