"""The run properties of ``harness.sim.checks`` take their settings from the
system's declarations; without them they skip and say so."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.conventions import REFERENCE_CHECKER_SPECS
from harness.history.model import Op
from harness.sim.checks import check_history, check_liveness, check_retries, check_run, check_stages
from harness.system import Declarations, Stages, StateMachine


class H:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def pair(self, process: str, f: str, key: Any = None, value: Any = None, type: str = "ok") -> H:
        for t in ("invoke", type):
            self.ops.append(Op(len(self.ops), len(self.ops), process, t, f, key, value))
        return self


#: A foreign pipeline: jobs "J" with subtasks "J#parse#0", "J#index#0", states new -> busy -> ok.
PIPELINE = Declarations(
    state_machine=StateMachine.of(
        {"new": ["busy"], "busy": ["ok", "bad"]}, initial="new", terminal=["ok", "bad"]
    ),
    stages=Stages(("parse", "index"), r"^(?P<task>[^#]+)#(?P<stage>\w+)#\d+$", done=("ok",)),
    max_receives=2,
    retried_messages="job:*",
    retry_senders="dispatcher*",
    dead_letter_queues="*-dead",
)
SPECS = PIPELINE.checker_specs()


def create(h: H, pk: str) -> None:
    h.pair("dispatcher", "dynamodb.PutItem", f"jobs/{pk}")


def finish(h: H, pk: str) -> None:
    h.pair("dispatcher", "state.transition", pk, {"from": "busy", "to": "ok"})


# -- stages -----------------------------------------------------------------------------
def test_stages_without_a_declaration_are_skipped() -> None:
    h = H()
    create(h, "J#index#0")
    v = check_stages(h.ops)
    assert v.valid is True and v.stats["skipped"] == "no stages declared"


def test_declared_stages_in_order_pass() -> None:
    h = H()
    create(h, "J#parse#0")
    create(h, "J#parse#1")
    finish(h, "J#parse#0")
    finish(h, "J#parse#1")
    create(h, "J#index#0")
    finish(h, "J#index#0")
    finish(h, "J")
    v = check_stages(h.ops, spec=SPECS["stages"])
    assert v.valid is True and v.stats["subtasks"] == 3


def test_declared_stages_out_of_order_fail() -> None:
    h = H()
    create(h, "J#parse#0")  # ops 0, 1
    create(h, "J#index#0")  # ops 2, 3: parse#0 is not done
    v = check_stages(h.ops, spec=SPECS["stages"])
    assert [a.kind for a in v.violations] == ["stage_before_previous_done"]
    assert v.violations[0].ops == (1, 3) and v.violations[0].details["pending"] == "J#parse#0"
    h2 = H()
    create(h2, "J#index#0")
    finish(h2, "J")  # done before its last stage
    assert check_stages(h2.ops, spec=SPECS["stages"]).valid is False


def test_the_reference_stage_names_mean_nothing_to_another_system() -> None:
    h = H()
    create(h, "t/research/0")
    create(h, "t/write/0")
    assert check_stages(h.ops, spec=SPECS["stages"]).stats["subtasks"] == 0
    assert (
        check_stages(h.ops, spec=REFERENCE_CHECKER_SPECS["stages"]).stats["subtasks"] == 0
    )  # not its tasks table
    h2 = H()
    h2.pair("s", "dynamodb.PutItem", "sim-tasks/t/research/0")
    h2.pair("s", "dynamodb.PutItem", "sim-tasks/t/write/0")
    assert check_stages(h2.ops, spec=REFERENCE_CHECKER_SPECS["stages"]).valid is False


def test_a_malformed_stages_spec_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="groups 'task' and 'stage'"):
        check_stages([], spec={"order": ["a"], "pattern": r"(?P<task>.+)", "done": ["ok"]})
    with pytest.raises(ValueError, match="order"):
        check_stages([], spec={"order": "ab", "pattern": r"(?P<task>.)(?P<stage>.)"})
    v = check_stages([], spec={"order": ["a"], "pattern": r"(?P<task>.)(?P<stage>.)"})
    assert v.valid is True and "no done state" in v.stats["skipped"]


# -- retries -----------------------------------------------------------------------------
def deliver(h: H, mid: str, sqs_id: str, queue: str = "jobs") -> None:
    h.pair("worker", "sqs.ReceiveMessage", queue, {"messages": [{"message_id": mid, "sqs_id": sqs_id}]})


def test_retries_without_a_declaration_are_skipped() -> None:
    h = H()
    for i in range(10):
        deliver(h, "job:1", f"q{i}")
    v = check_retries(h.ops)
    assert v.valid is True and "no redrive policy" in v.stats["skipped"]


def test_declared_retries_pass_within_the_redrive_bound() -> None:
    h = H()
    h.pair("dispatcher-1", "sqs.SendMessage", "jobs", {"message_id": "job:1"})
    deliver(h, "job:1", "q1")
    deliver(h, "job:1", "q1")
    deliver(h, "job:1", "q1", "jobs-dead")  # reading dead letters is no delivery
    deliver(h, "other:1", "q9")  # not a judged message
    deliver(h, "other:1", "q9")
    deliver(h, "other:1", "q9")
    v = check_retries(h.ops, spec=SPECS["retries"])
    assert v.valid is True and v.stats["messages"] == 1


def test_declared_retries_fail_beyond_the_redrive_bound() -> None:
    h = H()
    h.pair("dispatcher-1", "sqs.SendMessage", "jobs", {"message_id": "job:1"})
    for i in range(3):
        deliver(h, "job:1", f"q{i}")
        h.pair("worker", "sqs.SendMessage", "jobs", {"message_id": "job:1"})  # not a counted sender
    v = check_retries(h.ops, spec=SPECS["retries"])
    assert [a.kind for a in v.violations] == ["retried_without_end"]
    assert v.violations[0].details == {"deliveries": 3, "bound": 2}
    assert check_retries(h.ops, **SPECS["retries"]).to_dict() == v.to_dict()  # as keyword arguments
    # max_receives alone: every message, sent by anyone (the worker's resends count)
    assert check_retries(h.ops, 2).valid is True


# -- liveness ----------------------------------------------------------------------------
def test_run_liveness_uses_the_declared_terminal_states() -> None:
    h = H()
    h.pair("dispatcher", "state.transition", "J", {"from": "new", "to": "busy"})
    ok = check_liveness(h.ops, ["J", "K"], {"J": "ok", "K": "bad"}, terminal=["ok", "bad"])
    assert ok.valid is True
    bad = check_liveness(h.ops, ["J", "K"], {"J": "busy", "K": "done"}, terminal=["ok", "bad"], note="quiet")
    by_key = {a.key: a for a in bad.violations}
    assert set(by_key) == {"J", "K"} and by_key["J"].ops == (1,) and "quiet" in by_key["J"].message
    unknown = check_liveness(h.ops, ["J"], {"J": "done"})
    assert unknown.valid == "unknown" and unknown.stats["skipped"] == "no terminal states declared"


# -- together ------------------------------------------------------------------------------
def test_check_run_reads_every_setting_from_the_specs() -> None:
    h = H()
    h.pair("client", "task.submit", "J")
    h.pair("dispatcher", "state.transition", "J", {"from": "new", "to": "busy"})
    create(h, "J#parse#0")
    create(h, "J#index#0")  # too early
    for _ in range(3):
        deliver(h, "job:1", "q1")
    verdicts = {
        v.checker: v for v in check_run(h.ops, ["J"], {"J": "busy"}, ["ordering", "liveness"], specs=SPECS)
    }
    assert verdicts["ordering"].valid is True and "skipped" not in verdicts["ordering"].stats
    assert verdicts["stages"].valid is False
    assert verdicts["retries"].valid is False
    assert verdicts["crashes"].valid is True
    lv = [v for v in check_run(h.ops, ["J"], {"J": "busy"}, [], specs=SPECS) if v.checker == "liveness"]
    assert [v.valid for v in lv] == [False]
    # nothing declared: each property skips instead of applying another system's assumptions
    plain = {v.checker: v for v in check_run(h.ops, ["J"], {"J": "busy"}, ["ordering"])}
    assert plain["stages"].valid is True and "skipped" in plain["stages"].stats
    assert plain["retries"].valid is True and "skipped" in plain["retries"].stats
    assert plain["liveness"].valid == "unknown"
    assert "skipped" in plain["ordering"].stats


def test_check_history_passes_the_stages_spec() -> None:
    h = H()
    create(h, "J#index#0")
    h.pair("dispatcher", "state.transition", "J", {"from": "busy", "to": "ok"})
    verdicts = {v.checker: v for v in check_history(h.ops, ["ordering"], specs=SPECS)}
    assert verdicts["stages"].valid is False and verdicts["ordering"].valid is True
