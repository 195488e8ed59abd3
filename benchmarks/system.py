"""One run of a system under test (the reference system by default) on a
fresh embedded backend, timed.

Deployment and the agents' construction (:func:`harness.system.build_agents`)
happen before the clock starts; the timed part is submitting the requests
through the system's own entry and driving every agent (one thread,
:func:`harness.system.drive`) until every request has reached a terminal state.
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
from harness.system import System, all_ended, build_agents, drive, load_system, retry

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


def terminal_counts(system: System, states: dict[str, str], tasks: list[str]) -> tuple[int, int]:
    """(succeeded, failed otherwise) among ``tasks``, by the system's declared states."""
    sm = system.declarations.state_machine
    success = (sm.success if sm is not None and sm.success else None) or frozenset({"done"})
    terminal = sm.terminal if sm is not None else frozenset({"done", "failed"})
    done = sum(1 for t in tasks if states.get(t) in success)
    return done, sum(1 for t in tasks if states.get(t) in terminal) - done


def ended(system: System, admin: Any, res: Any, tasks: list[str], every: int = 25) -> Any:
    """A stop condition for :func:`drive` that reads the task states every ``every`` rounds."""
    rounds = 0

    def until() -> bool:
        nonlocal rounds
        rounds += 1
        return rounds % every == 0 and all_ended(system, system.task_states(admin, res), tasks)

    return until


def run_system(
    mode: Mode,
    *,
    instrumented: bool,
    requests: int,
    seed: int,
    profile: cProfile.Profile | None = None,
    system: str | None = None,
) -> SystemRun:
    """Start a fresh backend, deploy, build the agents, then time the workload
    (and profile it, with ``profile``)."""
    sut = load_system(system)
    with harness.embedded(mode, seed=seed) as endpoints:
        admin = plain_session(endpoints)
        res = sut.deploy(admin, "mas", visibility_timeout=30)
        recorder = Recorder() if instrumented else None
        session_for = _sessions(endpoints, recorder)
        agents = list(build_agents(sut, res, session_for, seed=seed).values())
        client = session_for("client")
        batch = sut.workload.requests(requests, seed)
        tasks = [sut.workload.request_id(r) for r in batch]
        start = len(recorder) if recorder is not None else 0

        def workload() -> None:
            if profile is not None:
                profile.enable()
            try:
                for r in batch:
                    retry(lambda r=r: sut.workload.submit(client, res, r))
                drive(agents, ended(sut, admin, res, tasks), timeout=RUN_TIMEOUT_S)
            finally:
                if profile is not None:
                    profile.disable()

        timing, _ = timed(workload)
        done, failed = terminal_counts(sut, dict(sut.task_states(admin, res)), tasks)
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
