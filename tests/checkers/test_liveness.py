"""The liveness checker: every submitted task reaches a declared terminal state."""

from __future__ import annotations

from harness.checkers import UNKNOWN, check, check_liveness
from harness.checkers.registry import CHECKERS, STREAMING
from harness.system import StateMachine
from tests.checkers._history import History

#: A foreign system's states: nothing like the reference system's.
TICKETS = StateMachine.of(
    {"new": ["triaged"], "triaged": ["resolved", "rejected"]},
    initial="new",
    terminal=["resolved", "rejected"],
)


def submit(h: History, task: str, type: str = "ok") -> None:
    h.call("client", "task.submit", task, {"title": task}, type=type)


def move(h: History, task: str, frm: str, to: str, type: str = "ok") -> None:
    h.call("agent", "state.transition", task, {"from": frm, "to": to}, type=type)


def final(h: History, task: str, state: str | None) -> None:
    h.add("runner", "info", "task.state", task, {"state": state})


def kinds(v) -> list[str]:
    return [a.kind for a in v.violations]


def test_liveness_is_a_registered_streaming_checker() -> None:
    assert "liveness" in STREAMING and "liveness" in CHECKERS


def test_every_task_terminal_passes() -> None:
    h = History()
    submit(h, "t1")
    submit(h, "t2")
    move(h, "t1", "new", "triaged")
    move(h, "t1", "triaged", "resolved")
    move(h, "t2", "new", "triaged")
    move(h, "t2", "triaged", "rejected")
    v = check_liveness(h, terminal=["resolved", "rejected"])
    assert v.valid is True, v.anomalies
    assert v.stats["tasks"] == 2 and v.stats["finished"] == 2


def test_a_task_left_in_a_non_terminal_state_is_unfinished() -> None:
    h = History()
    submit(h, "t1")
    submit(h, "t2")
    move(h, "t1", "new", "triaged")
    move(h, "t1", "triaged", "resolved")
    move(h, "t2", "new", "triaged")  # ops 8, 9: its last transition
    v = check_liveness(h, state_machine=TICKETS)
    assert v.valid is False and kinds(v) == ["unfinished"]
    (a,) = v.violations
    assert a.key == "t2" and a.ops == (3, 9)  # its submission and its last transition
    assert "'triaged'" in a.message and "rejected, resolved" in a.message


def test_a_submitted_task_never_seen_again_is_unfinished() -> None:
    h = History()
    submit(h, "t1")
    v = check_liveness(h, terminal=["resolved"])
    assert kinds(v) == ["unfinished"] and "not even stored" in v.violations[0].message
    assert v.violations[0].ops == (1,)


def test_the_final_state_read_from_the_system_decides() -> None:
    # the last transition was made but not recorded: the state read at the end says resolved
    h = History()
    submit(h, "t1")
    move(h, "t1", "new", "triaged")
    final(h, "t1", "resolved")
    assert check_liveness(h, state_machine=TICKETS).valid is True
    # and the other way round: recorded as resolved, but the system has it elsewhere
    h2 = History()
    submit(h2, "t1")
    move(h2, "t1", "new", "triaged")
    move(h2, "t1", "triaged", "resolved")
    final(h2, "t1", "triaged")
    v = check_liveness(h2, state_machine=TICKETS)
    assert kinds(v) == ["unfinished"] and "final state read from the system" in v.violations[0].message
    assert v.violations[0].ops == (1, 5, 6)  # submission, last transition, final state


def test_a_terminal_transition_of_unknown_outcome_is_unknown_not_a_violation() -> None:
    h = History()
    submit(h, "t1")
    move(h, "t1", "new", "triaged")
    move(h, "t1", "triaged", "resolved", type="info")
    v = check_liveness(h, state_machine=TICKETS)
    assert v.valid == UNKNOWN and not v.anomalies and v.stats["possibly_finished"] == 1


def test_no_terminal_states_declared_is_unknown_and_says_why() -> None:
    h = History()
    submit(h, "t1")
    move(h, "t1", "pending", "done")
    for v in (check_liveness(h), check_liveness(h, terminal=[])):
        assert v.valid == UNKNOWN and not v.anomalies
        assert "no terminal states declared" in v.stats["skipped"]


def test_nothing_submitted_is_vacuously_valid() -> None:
    h = History()
    move(h, "t1", "new", "triaged")
    v = check_liveness(h)
    assert v.valid is True and v.stats["tasks"] == 0 and "no task.submit" in v.stats["skipped"]


def test_a_submission_of_unknown_outcome_is_judged_only_if_the_task_exists() -> None:
    h = History()
    submit(h, "t1", type="info")  # may never have reached the system
    submit(h, "t2", type="info")
    move(h, "t2", "new", "triaged")  # it did
    v = check_liveness(h, state_machine=TICKETS)
    assert [a.key for a in v.violations] == ["t2"] and v.stats["tasks"] == 1


def test_subtasks_are_not_submitted_tasks() -> None:
    h = History()
    submit(h, "t1")
    move(h, "t1/step/0", "new", "triaged")  # a subtask, never submitted: not judged
    move(h, "t1", "new", "resolved")
    assert check_liveness(h, terminal=["resolved"]).valid is True


def test_check_applies_a_top_level_state_machine_to_liveness_and_ordering() -> None:
    h = History()
    submit(h, "t1")
    move(h, "t1", "new", "triaged")
    ordering, liveness = check(h, ["ordering", "liveness"], specs={"state_machine": TICKETS.to_json()})
    assert ordering.valid is True and "skipped" not in ordering.stats
    assert kinds(liveness) == ["unfinished"]
    # a checker's own settings win over the top-level state machine
    (lv,) = check(
        h, ["liveness"], specs={"state_machine": TICKETS.to_json(), "liveness": {"terminal": ["triaged"]}}
    )
    assert lv.valid is True
