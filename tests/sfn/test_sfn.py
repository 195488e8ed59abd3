"""The Step Functions orchestration of the reference system, on moto."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

import harness
from harness.backends import embedded
from harness.history.recorder import Recorder
from reference_system.messages import BriefRequest, SubtaskMessage
from reference_system.sfn import Timeouts, definition, deploy_state_machine, execution_name
from reference_system.sfn.definition import RETRIED, SEND_AND_WAIT
from reference_system.workers import PermanentFailure, ResearchWorker, WriteWorker
from tests.conftest import System
from tests.sfn._system import WorkerCrashed, build_sfn_system
from tests.sfn.checks import execution_events, items, run_healthy


def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in states.values() if s.get("Type") == "Task"]


def test_definition_maps_over_subtasks_waits_for_tokens_retries_catches_and_times_out() -> None:
    d = definition(Timeouts(task=30, heartbeat=5, attempts=3))
    research = d["States"]["Research"]
    assert research["Type"] == "Map" and research["ItemsPath"] == "$.research"
    tasks = _tasks(research["Iterator"]["States"]) + _tasks(d["States"])
    assert len(tasks) == 3
    for t in tasks:
        assert t["Resource"] == SEND_AND_WAIT
        assert t["Parameters"]["MessageBody"]["task_token.$"] == "$$.Task.Token"
        assert (t["TimeoutSeconds"], t["HeartbeatSeconds"]) == (30, 5)
        assert t["Retry"][0]["ErrorEquals"] == list(RETRIED) and t["Retry"][0]["MaxAttempts"] == 3
    for name in ("Research", "Write", "Review"):
        assert d["States"][name]["Catch"][0]["Next"] == "Failed"


def test_heartbeat_must_be_shorter_than_the_task_timeout() -> None:
    with pytest.raises(ValueError):
        Timeouts(task=5, heartbeat=5)


def test_execution_names_are_valid_and_deterministic() -> None:
    assert execution_name("r1-0001") == "r1-0001"
    assert execution_name("a/b c") == "a-b-c"
    assert len(execution_name("x" * 100)) == 80


def test_deploying_the_state_machine_twice_is_harmless_and_tagged(endpoints: Any, recorder: Recorder) -> None:
    from reference_system import deploy

    sess = harness.session(endpoints, "deploy", recorder)
    res = deploy(sess, "tg")
    arn1 = deploy_state_machine(sess, res, tags={"team": "agents"})
    arn2 = deploy_state_machine(sess, res, timeouts=Timeouts(task=40, heartbeat=4), tags={"team": "agents"})
    assert arn1 == arn2
    sfn = sess.client("stepfunctions")
    assert len(sfn.list_state_machines()["stateMachines"]) == 1
    live = json.loads(sfn.describe_state_machine(stateMachineArn=arn1)["definition"])
    assert live["States"]["Write"]["TimeoutSeconds"] == 40
    tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn1)["tags"]}
    assert tags == {"harness:system": "reference", "harness:prefix": "tg", "team": "agents"}


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_requests_run_to_a_brief_on_both_embedded_modes(mode: str) -> None:
    with embedded(mode) as ep:
        run_healthy(build_sfn_system(ep, Recorder()))


def test_tight_budget_fails_the_task_with_a_budget_reason(sfn_system: System) -> None:
    sfn_system.supervisor.submit(BriefRequest(request_id="b1", topic="wheat exports", token_budget=60))
    sfn_system.run(timeout=60)
    found = items(sfn_system)
    assert found["b1"]["state"] == "failed"
    assert "token budget exceeded" in found["b1"]["reason"]
    assert sfn_system.effects("publish") == []


class CrashAfterPublish(WriteWorker):
    """Publishes, then its process dies before answering the task token."""

    def __init__(self, crashes: int = 1) -> None:
        self.crashes = crashes

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        out = super().handle(task, ctx)
        if self.crashes:
            self.crashes -= 1
            raise WorkerCrashed()
        return out


def test_a_crashed_worker_times_out_and_the_retry_completes_with_one_effect(
    endpoints: Any, recorder: Recorder
) -> None:
    system = build_sfn_system(endpoints, recorder, workers={"write": CrashAfterPublish()})
    system.supervisor.submit(BriefRequest(request_id="k1", topic="solar tariffs", token_budget=4000))
    system.run(timeout=60)
    assert items(system)["k1"]["state"] == "done"
    assert system.workers[1].crashes == 1
    events = execution_events(system, "k1")
    # The heartbeat timeout found the crash. (On a loaded machine another
    # subtask may time out too: every timeout is followed by one retry.)
    timeouts = events.count("TaskTimedOut")
    assert timeouts >= 1
    assert events.count("TaskSubmitted") == events.count("TaskSucceeded") + timeouts
    writes = [o for o in recorder.ops if o.f == "model.complete" and o.type == "ok" and "/write/" in o.key]
    assert len(writes) == 2  # the subtask really ran twice ...
    assert len(system.effects("publish")) == 1  # ... and published once


class FlakyResearch(ResearchWorker):
    def __init__(self) -> None:
        self.failures = 1

    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise ConnectionResetError("search backend dropped the connection")
        return super().handle(task, ctx)


def test_a_transient_failure_is_retried_with_a_new_token(endpoints: Any, recorder: Recorder) -> None:
    system = build_sfn_system(endpoints, recorder, workers={"research": FlakyResearch()})
    system.supervisor.submit(BriefRequest(request_id="f1", topic="coffee prices", token_budget=4000))
    system.run(timeout=60)
    assert items(system)["f1"]["state"] == "done"
    events = Counter(execution_events(system, "f1"))
    # AWS and LocalStack record one TaskFailed; moto reuses the task token on
    # the retry and replays the stored failure once more.
    assert events["TaskFailed"] >= 1
    research = [k for k in items(system) if k.startswith("f1/research/")]
    assert events["TaskSucceeded"] == len(research) + 2  # + write + review
    errors = [o for o in recorder.ops if o.f == "worker.error" and o.type == "fail"]
    assert len(errors) == 1
    fetches = Counter(o.key for o in system.effects("fetch"))
    assert fetches and set(fetches.values()) == {1}


class Refuses(ResearchWorker):
    def handle(self, task: SubtaskMessage, ctx: Any) -> dict[str, Any]:
        raise PermanentFailure("search backend refuses every query")


def test_a_permanent_failure_is_caught_not_retried(endpoints: Any, recorder: Recorder) -> None:
    system = build_sfn_system(endpoints, recorder, workers={"research": Refuses()})
    system.supervisor.submit(BriefRequest(request_id="p1", topic="remote work", token_budget=4000))
    system.run(timeout=60)
    found = items(system)
    assert found["p1"]["state"] == "failed"
    assert found["p1"]["reason"].startswith("Worker.PermanentFailure")
    assert system.supervisor.outcomes["p1"]["status"] == "failed"
    assert system.effects("publish") == []


def test_retries_exhausted_by_crashes_fail_the_task(endpoints: Any, recorder: Recorder) -> None:
    system = build_sfn_system(
        endpoints, recorder, workers={"write": CrashAfterPublish(crashes=5)}, attempts=1
    )
    system.supervisor.submit(BriefRequest(request_id="x1", topic="port congestion", token_budget=4000))
    system.run(timeout=60)
    found = items(system)
    assert found["x1"]["state"] == "failed" and "States" in found["x1"]["reason"]
    assert execution_events(system, "x1").count("TaskTimedOut") >= 2  # the attempt and its retry
    assert len(system.effects("publish")) == 1


def test_a_restarted_orchestrator_adopts_running_executions(endpoints: Any, recorder: Recorder) -> None:
    from reference_system import ScriptedModel
    from reference_system.sfn import SfnOrchestrator

    system = build_sfn_system(endpoints, recorder)
    system.supervisor.submit(BriefRequest(request_id="o1", topic="chip fabrication", token_budget=4000))
    system.supervisor.step()  # the execution starts; then the orchestrator dies
    fresh = SfnOrchestrator(
        harness.session(endpoints, "orchestrator-2", recorder),
        system.resources,
        ScriptedModel(seed=7),
        system.extra["state_machine_arn"],
    )
    assert fresh.recover() == 1
    system.supervisor = fresh
    system.run(timeout=60)
    assert items(system)["o1"]["state"] == "done"
    assert len(system.effects("publish")) == 1
