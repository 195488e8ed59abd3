"""One run of the reference system on a fresh embedded backend, timed.

Deployment and client construction happen before the clock starts; the timed
part is submitting the requests and driving the supervisor, the workers and
the audit consumer (one thread, :func:`reference_system.runner.drive`) until
every request has reached a terminal state.
"""

from __future__ import annotations

import cProfile
from dataclasses import dataclass
from typing import Any, Literal

import harness
from benchmarks.stats import timed
from harness.backends.endpoints import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.session import plain_session
from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, Supervisor, WorkerLoop, deploy
from reference_system.audit_loop import AuditLoop
from reference_system.runner import drive
from reference_system.workload import requests as make_requests

Mode = Literal["inprocess", "server"]

#: History ``f`` prefixes of AWS calls (everything else is a declared effect or note).
AWS_PREFIXES: tuple[str, ...] = ("sqs.", "sns.", "dynamodb.", "events.", "stepfunctions.")

#: A run that has not finished by then is broken, not slow.
RUN_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class SystemRun:
    """What one timed run did."""

    instrumented: bool
    wall_s: float
    cpu_s: float
    gc_s: float
    requests: int
    done: int
    failed: int
    #: AWS calls made in the timed part (``None`` for a plain Session: nothing counts them).
    aws_calls: int | None
    #: Every operation recorded in the timed part, AWS calls and effects alike.
    ops_recorded: int | None

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def aws_calls_per_s(self) -> float | None:
        return None if self.aws_calls is None else self.aws_calls / self.wall_s


def count_aws_calls(recorder: Recorder, start: int = 0) -> int:
    """AWS calls recorded from operation ``start`` on: one ``invoke`` per call."""
    return sum(1 for op in recorder.ops[start:] if op.type == "invoke" and op.f.startswith(AWS_PREFIXES))


def _sessions(endpoints: Endpoints, recorder: Recorder | None) -> Any:
    """A factory of per-agent sessions: instrumented into ``recorder``, or plain."""
    if recorder is None:
        return lambda agent: plain_session(endpoints)
    return lambda agent: harness.session(endpoints, agent, recorder)


def _terminal_counts(endpoints: Endpoints, table: str) -> tuple[int, int]:
    ddb = plain_session(endpoints).client("dynamodb")
    done = failed = 0
    kw: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for item in page.get("Items", []):
            if item.get("kind", {}).get("S") != "task":
                continue
            state = item.get("state", {}).get("S")
            done += state == "done"
            failed += state == "failed"
        if "LastEvaluatedKey" not in page:
            return done, failed
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_system(
    mode: Mode, *, instrumented: bool, requests: int, seed: int, profile: cProfile.Profile | None = None
) -> SystemRun:
    """Start a fresh backend, deploy, build the agents, then time the workload
    (and profile it, with ``profile``)."""
    with harness.embedded(mode, seed=seed) as endpoints:
        res = deploy(plain_session(endpoints), visibility_timeout=30)
        recorder = Recorder() if instrumented else None
        session_for = _sessions(endpoints, recorder)
        model = ScriptedModel(seed=seed)
        supervisor = Supervisor(session_for("supervisor"), res, model)
        workers = [
            WorkerLoop(DEFAULT_WORKERS[cap](), session_for(f"{cap}-1"), res, model, agent=f"{cap}-1")
            for cap in CAPABILITIES
        ]
        audit = AuditLoop(session_for("audit"), res)
        batch = make_requests(requests, seed=seed)
        start = len(recorder) if recorder is not None else 0

        def workload() -> None:
            if profile is not None:
                profile.enable()
            try:
                for r in batch:
                    supervisor.submit(r)
                drive([supervisor, *workers, audit], lambda: supervisor.finished, timeout=RUN_TIMEOUT_S)
            finally:
                if profile is not None:
                    profile.disable()

        timing, _ = timed(workload)
        done, failed = _terminal_counts(endpoints, res.tasks_table)
        return SystemRun(
            instrumented=instrumented,
            wall_s=timing.wall,
            cpu_s=timing.cpu,
            gc_s=timing.gc,
            requests=len(batch),
            done=done,
            failed=failed,
            aws_calls=count_aws_calls(recorder, start) if recorder is not None else None,
            ops_recorded=len(recorder) - start if recorder is not None else None,
        )
