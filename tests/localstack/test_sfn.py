"""The Step Functions orchestration on LocalStack, with DynamoDB Local."""

from __future__ import annotations

import pytest

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from reference_system.messages import BriefRequest
from tests.sfn._system import build_sfn_system
from tests.sfn.checks import execution_events, items, run_healthy
from tests.sfn.test_sfn import CrashAfterPublish

# The first LocalStack test of a fresh checkout also installs it (a few minutes, once).
pytestmark = [pytest.mark.localstack, pytest.mark.timeout(900)]


def test_requests_run_to_a_brief_and_the_checkers_hold(ls: Endpoints) -> None:
    run_healthy(build_sfn_system(ls, Recorder()))


def test_a_crashed_worker_times_out_and_the_retry_completes_with_one_effect(ls: Endpoints) -> None:
    rec = Recorder()
    system = build_sfn_system(ls, rec, workers={"write": CrashAfterPublish()})
    system.supervisor.submit(BriefRequest(request_id="k1", topic="solar tariffs", token_budget=4000))
    system.run(timeout=90)
    assert items(system)["k1"]["state"] == "done"
    events = execution_events(system, "k1")
    assert events.count("TaskTimedOut") >= 1  # the crash (a loaded machine may time out another)
    assert len(system.effects("publish")) == 1


def test_tight_budget_fails_the_task_with_the_workers_cause(ls: Endpoints) -> None:
    system = build_sfn_system(ls, Recorder())
    system.supervisor.submit(BriefRequest(request_id="b1", topic="wheat exports", token_budget=60))
    system.run(timeout=90)
    found = items(system)
    assert found["b1"]["state"] == "failed"
    # LocalStack passes SendTaskFailure's cause through (moto drops it).
    assert found["b1"]["reason"].startswith("Worker.BudgetExceeded: token budget exceeded: ")
