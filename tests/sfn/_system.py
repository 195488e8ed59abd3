"""Building the reference system with the Step Functions orchestrator, for tests on any backend."""

from __future__ import annotations

from typing import Any

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from tests.conftest import System

#: Short enough for tests: a crashed worker is found out in five seconds
#: (long enough for one research worker to reach its third subtask on a
#: loaded machine: the heartbeat clock starts when the subtask is sent).
TEST_TIMEOUTS = {"task": 20, "heartbeat": 5, "attempts": 2, "interval": 1, "backoff": 1.0}


class WorkerCrashed(BaseException):
    """A worker process dying mid-task: nothing is answered, nothing deleted."""


class Restarting:
    """A worker loop whose process comes back after a crash (the message it held stays in flight)."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.crashes = 0

    def step(self) -> bool:
        try:
            return bool(self.loop.step())
        except WorkerCrashed:
            self.crashes += 1
            return True


def build_sfn_system(
    ep: Endpoints,
    rec: Recorder,
    *,
    workers: dict[str, Any] | None = None,
    prefix: str = "mas",
    visibility_timeout: int = 30,
    **timeouts: Any,
) -> System:
    """Deploy the resources and the state machine, and wire the orchestrator,
    one SFN worker loop per capability and the audit loop. The visibility
    timeout outlasts the heartbeat timeout, so a crashed worker's subtask is
    recovered by the state machine's retry, not by SQS redelivery."""
    import harness
    from reference_system import CAPABILITIES, DEFAULT_WORKERS, ScriptedModel, deploy
    from reference_system.audit_loop import AuditLoop
    from reference_system.sfn import SfnOrchestrator, SfnWorkerLoop, Timeouts, deploy_state_machine

    sess = harness.session(ep, "deploy", rec)
    res = deploy(sess, prefix, visibility_timeout=visibility_timeout)
    arn = deploy_state_machine(sess, res, timeouts=Timeouts(**{**TEST_TIMEOUTS, **timeouts}))
    model = ScriptedModel(seed=7)
    impls = {c: DEFAULT_WORKERS[c]() for c in CAPABILITIES} | (workers or {})
    orch = SfnOrchestrator(harness.session(ep, "orchestrator", rec), res, model, arn)
    loops = [
        Restarting(SfnWorkerLoop(impls[c], harness.session(ep, f"{c}-1", rec), res, model))
        for c in CAPABILITIES
    ]
    audit = AuditLoop(harness.session(ep, "auditor", rec), res)
    return System(ep, rec, res, orch, loops, audit, extra={"state_machine_arn": arn})
