"""`harness run`: the reference system as separate processes on a backend, recorded and checked."""

from harness.run.main import RunConfig, RunResult, run

__all__ = ["RunConfig", "RunResult", "run"]
