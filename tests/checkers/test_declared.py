"""Checkers judge by the system's declarations, and skip (saying so) what is
not declared: never the reference system's assumptions."""

from __future__ import annotations

import pytest

from harness.checkers import check, check_idempotency, check_lost_update, check_ordering
from harness.checkers.conventions import REFERENCE_STATE_MACHINE
from harness.system import Declarations, Stages, StateMachine, VersionedItems
from tests.checkers._history import History

TICKETS = StateMachine.of(
    {"new": ["triaged"], "triaged": ["resolved", "rejected"]},
    initial="new",
    terminal=["resolved", "rejected"],
    success=["resolved"],
)


def kinds(v) -> list[str]:
    return [a.kind for a in v.violations]


def tickets(h: History, *steps: tuple[str, str, str]) -> History:
    for task, frm, to in steps:
        h.call("agent", "state.transition", task, {"from": frm, "to": to})
    return h


# -- ordering: no default state machine ---------------------------------------------
def test_without_a_state_machine_transitions_are_counted_not_judged() -> None:
    h = tickets(History(), ("t", "new", "triaged"), ("t", "triaged", "resolved"))
    v = check_ordering(h)
    assert v.valid is True and not v.anomalies
    assert v.stats["transitions"] == 2 and v.stats["tasks"] == 1
    assert v.stats["skipped"] == "no state machine declared: task transitions not judged"
    # even a transition the reference system would forbid is not judged
    h2 = tickets(History(), ("t", "done", "running"))
    assert check_ordering(h2).valid is True


def test_a_foreign_state_machine_accepts_its_correct_runs() -> None:
    h = tickets(
        History(),
        ("a", "new", "triaged"),
        ("a", "triaged", "resolved"),
        ("b", "new", "triaged"),
        ("b", "triaged", "rejected"),
    )
    for sm in (TICKETS, TICKETS.to_json()):
        v = check_ordering(h, state_machine=sm)
        assert v.valid is True and not v.anomalies and "skipped" not in v.stats
    # the reference system's state machine would reject every one of them
    assert set(kinds(check_ordering(h, state_machine=REFERENCE_STATE_MACHINE))) == {"illegal_transition"}


@pytest.mark.parametrize(
    "steps, kind",
    [
        ((("a", "new", "resolved"),), "illegal_transition"),  # skips triage: not a declared transition
        (
            (("a", "new", "triaged"), ("a", "triaged", "resolved"), ("a", "resolved", "triaged")),
            "illegal_transition",
        ),
        (
            (("a", "new", "triaged"), ("a", "triaged", "resolved"), ("a", "triaged", "rejected")),
            "wrong_from_state",
        ),
    ],
)
def test_a_foreign_state_machine_rejects_what_it_forbids(steps, kind) -> None:
    v = check_ordering(tickets(History(), *steps), state_machine=TICKETS)
    assert v.valid is False and kind in kinds(v)


def test_allowed_pairs_from_json_lists_and_mappings() -> None:
    h = tickets(History(), ("a", "new", "triaged"))
    assert check_ordering(h, allowed=[["new", "triaged"]], initial_state="new").valid is True
    assert check_ordering(h, allowed={"new": ["triaged"]}).valid is True
    assert kinds(check_ordering(h, allowed={"triaged": ["new"]})) == ["illegal_transition"]
    with pytest.raises(ValueError, match="pairs"):
        check_ordering(h, allowed=["new"])
    with pytest.raises(ValueError, match="state machine"):
        check_ordering(h, state_machine={"states": []})


def test_unknown_settings_are_a_one_line_value_error() -> None:
    with pytest.raises(ValueError, match="checker 'ordering': bad settings"):
        check(History(), ["ordering"], specs={"ordering": {"alowed": []}})


# -- idempotency: repeatable effects ---------------------------------------------------
def test_repeatable_effects_are_counted_not_judged() -> None:
    h = History()
    h.call("w", "effect.notify", "k")
    h.call("w", "effect.notify", "k")
    h.call("w", "effect.publish", "k")
    h.call("w", "effect.publish", "k")
    assert set(kinds(check_idempotency(h))) == {"duplicate_effect"}
    v = check_idempotency(h, repeatable=["notify"])
    assert kinds(v) == ["duplicate_effect"] and v.violations[0].details["f"] == "effect.publish"
    assert v.stats["repeatable_effects"] == 2
    assert check_idempotency(h, repeatable=["effect.notify", "publish"]).valid is True


# -- lost update: declared tables -------------------------------------------------------
def _write(h: History, key: str, version: int) -> None:
    h.call("w", "dynamodb.PutItem", key, {"condition": None, "version": version}, {"version": version})


def test_lost_update_judges_the_declared_tables_only() -> None:
    h = History()
    _write(h, "app-orders/1", 1)
    _write(h, "app-orders/1", 1)  # a repeat: one write silently lost
    _write(h, "cache/1", 1)
    _write(h, "cache/1", 1)
    assert len(check_lost_update(h).violations) == 2
    v = check_lost_update(h, tables=["*-orders"])
    assert [a.key for a in v.violations] == ["app-orders/1"]
    assert check_lost_update(h, tables=["nothing"]).valid is True


# -- declarations -> settings --------------------------------------------------------
def test_checker_specs_are_what_the_checkers_read() -> None:
    decl = Declarations(
        state_machine=TICKETS,
        versioned=(VersionedItems("*-tickets", "rev", ":expected"),),
        repeatable_effects=("notify",),
        fanout={"events": ("audit", "billing")},
        stages=Stages(("triage", "fix"), r"^(?P<task>[^#]+)#(?P<stage>\w+)#\d+$"),
        max_receives=5,
        retried_messages="job:*",
        retry_senders="dispatcher*",
        dead_letter_queues="*-dead",
        checkers={"session": {"consistent_only": True}},
    )
    specs = decl.checker_specs()
    assert specs["ordering"] == {
        "allowed": [["new", "triaged"], ["triaged", "rejected"], ["triaged", "resolved"]],
        "initial_state": "new",
    }
    assert specs["liveness"] == {"terminal": ["rejected", "resolved"]}
    assert specs["lost-update"] == {"tables": ["*-tickets"]}
    assert specs["idempotency"] == {"repeatable": ["notify"]}
    assert specs["delivery"] == {"fed_queues": ["*audit", "*billing"]}
    assert specs["stages"]["order"] == ["triage", "fix"] and specs["stages"]["done"] == ["resolved"]
    assert specs["retries"] == {
        "max_receives": 5,
        "messages": "job:*",
        "senders": "dispatcher*",
        "exclude_queues": "*-dead",
    }
    assert specs["session"] == {"consistent_only": True}
    # every checker accepts its settings
    h = tickets(History(), ("a", "new", "triaged"), ("a", "triaged", "resolved"))
    verdicts = check(
        h, ["delivery", "idempotency", "ordering", "lost-update", "session", "liveness"], specs=specs
    )
    assert all(v.valid is not False for v in verdicts)


def test_nothing_declared_gives_no_settings() -> None:
    assert Declarations().checker_specs() == {}
    h = tickets(History(), ("a", "pending", "done"))
    (v,) = check(h, ["ordering"], specs=Declarations().checker_specs())
    assert v.valid is True and "skipped" in v.stats


def test_declared_fifo_queues_have_their_processing_order_judged() -> None:
    specs = Declarations(state_machine=TICKETS, fifo_queues=("*-events.fifo",)).checker_specs()
    assert specs["ordering"] == {
        "allowed": [["new", "triaged"], ["triaged", "rejected"], ["triaged", "resolved"]],
        "initial_state": "new",
        "processed_queues": ["*-events.fifo"],
    }
    # without a state machine: processing order only
    assert Declarations(fifo_queues=("q.fifo",)).checker_specs() == {
        "ordering": {"processed_queues": ["q.fifo"]}
    }
    (v,) = check(History(), ["ordering"], specs=specs)
    assert v.valid is True and v.stats["messages_applied"] == 0 and "processing_skipped" not in v.stats
