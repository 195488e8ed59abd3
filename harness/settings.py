"""Every setting the harness reads from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path

#: Region used by the emulators (and by default against AWS).
REGION: str = os.environ.get("HARNESS_REGION", "us-east-1")

#: Where `harness run` writes its output directories.
RUNS_DIR: Path = Path(os.environ.get("HARNESS_RUNS_DIR", "runs"))

#: Fake credentials handed to emulators; never used against AWS.
EMULATOR_ACCESS_KEY: str = "testing"
EMULATOR_SECRET_KEY: str = "testing"

#: The only host the harness ever binds or targets for local servers.
LOOPBACK: str = "127.0.0.1"


def env_flag(name: str, default: bool = False) -> bool:
    v = os.environ.get(name)
    if v is None:
        return default
    return v.strip().lower() in {"1", "true", "yes", "on"}
