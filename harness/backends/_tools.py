"""Finding the programs the LocalStack backend runs: Python 3.13, Java and npm.

Each finder returns a path that was seen to work, or raises a one-line
:class:`BackendError` saying what is missing and how to provide it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from harness.backends.embedded import BackendError

#: LocalStack imports on this version only (see the project's notes).
LOCALSTACK_PYTHON = (3, 13)


def _runs(cmd: list[str], expect: str | None = None) -> bool:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and (expect is None or expect in (out.stdout + out.stderr))


def _python_candidates() -> list[str]:
    major, minor = LOCALSTACK_PYTHON
    name = f"python{major}.{minor}"
    found = [os.environ.get("HARNESS_PYTHON313", "")]
    found.append(shutil.which(name) or "")
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in filter(None, roots):
        found += sorted(glob.glob(f"{root}/versions/{major}.{minor}*/bin/{name}"), reverse=True)
    found += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    seen: list[str] = []
    for p in found:
        if p and p not in seen and os.access(p, os.X_OK):
            seen.append(p)
    return seen


def find_python313() -> str:
    """A Python 3.13 interpreter that really runs (a pyenv shim may not)."""
    major, minor = LOCALSTACK_PYTHON
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for p in _python_candidates():
        if _runs([p, "-c", probe], f"{major}.{minor}"):
            return p
    raise BackendError(
        f"LocalStack needs Python {major}.{minor}, and none was found "
        f"(install python{major}.{minor}, e.g. `pyenv install {major}.{minor}`, or set HARNESS_PYTHON313)"
    )


def find_java() -> str:
    java = shutil.which("java")
    if java is None or not _runs([java, "-version"]):
        raise BackendError(
            "DynamoDB Local needs Java (11 or newer) on PATH, and none was found "
            "(e.g. `apt-get install openjdk-17-jre-headless`)"
        )
    return java


def find_npm() -> str:
    npm = shutil.which("npm")
    if npm is None or not _runs([npm, "--version"]):
        raise BackendError(
            "fetching DynamoDB Local needs npm on PATH, and none was found (e.g. `apt-get install npm`)"
        )
    return npm
