"""The ordering checker judges the order a consumer *applies* a FIFO group's
messages in (``message.apply``), on the declared ``processed_queues``."""

from __future__ import annotations

from harness.checkers import check, check_ordering
from harness.faults.defaults import default_plan
from harness.sim.case import Case
from harness.system import Declarations, StateMachine, load_system
from tests.checkers._history import History

Q = "app-events.fifo"
PROCESSED = {"processed_queues": ["*-events.fifo"]}


def kinds(v) -> list[str]:
    return [a.kind for a in v.violations]


def sent(*mids: str, group: str = "g", queue: str = Q) -> History:
    h = History()
    for m in mids:
        h.send("producer", queue, m, f"sqs-{m}", group)
    return h


def test_in_order_application_passes() -> None:
    h = sent("m1", "m2", "m3")
    h.receive("consumer", Q, ("m1", "sqs-m1"), ("m2", "sqs-m2"))
    h.apply("consumer", Q, "m1", "sqs-m1", "g")
    h.apply("consumer", Q, "m2", "sqs-m2", "g")
    h.receive("consumer", Q, ("m3", "sqs-m3"))
    h.apply("consumer", Q, None, "sqs-m3")  # matched by its SQS id, group learnt from the receive
    v = check_ordering(h, **PROCESSED)
    assert v.valid is True and not v.anomalies
    assert v.stats["messages_applied"] == 3 and v.stats["applied_out_of_order"] == 0
    assert "processing_skipped" not in v.stats


def test_received_in_order_applied_out_of_order_fails() -> None:
    h = sent("m1", "m2", "m3")
    h.receive("consumer", Q, ("m1", "sqs-m1"), ("m2", "sqs-m2"), ("m3", "sqs-m3"))
    recv = len(h) - 1
    h.apply("consumer", Q, "m3", "sqs-m3", "g")  # a batch applied backwards
    h.apply("consumer", Q, "m2", "sqs-m2", "g")
    h.apply("consumer", Q, "m1", "sqs-m1", "g")
    v = check_ordering(h, **PROCESSED)
    assert v.valid is False
    # the receives themselves were in order: only the processing is wrong
    assert set(kinds(v)) == {"applied_out_of_order"}
    # once per skipped message: m1 and m2 when m3 is applied, then nothing more
    assert sorted(a.details["skipped"] for a in v.violations) == ["m1", "m2"]
    assert {a.details["applied"] for a in v.violations} == {"m3"}
    first = v.violations[0]
    assert first.ops == (recv, recv, recv + 2) and first.key == (Q, "g")
    assert v.stats["applied_out_of_order"] == 2 and v.stats["messages_applied"] == 1


def test_out_of_order_across_receives() -> None:
    h = sent("m1", "m2")
    h.receive("consumer", Q, ("m1", "sqs-m1"))
    r1 = len(h) - 1
    h.receive("consumer", Q, ("m2", "sqs-m2"))  # m1 deleted unapplied-yet, say
    r2 = len(h) - 1
    h.apply("consumer", Q, "m2", "sqs-m2")
    h.apply("consumer", Q, "m1", "sqs-m1")  # a retry applying the older one after the newer
    v = check_ordering(h, **PROCESSED)
    assert kinds(v) == ["applied_out_of_order"]
    assert v.violations[0].ops == (r1, r2, len(h) - 3)


def test_reapplying_an_old_message_after_newer_ones_passes() -> None:
    h = sent("m1", "m2")
    h.receive("consumer", Q, ("m1", "sqs-m1"))
    h.apply("consumer", Q, "m1", "sqs-m1")
    # its delete was lost: delivered again, applied again (a no-op for an idempotent consumer)
    h.receive("consumer", Q, ("m1", "sqs-m1"), receive_count=2)
    h.receive("consumer", Q, ("m2", "sqs-m2"))
    h.apply("consumer", Q, "m2", "sqs-m2")
    h.apply("consumer", Q, "m1", "sqs-m1")
    # a redelivery the history does not count still finds m1 already applied
    h.receive("consumer", Q, ("m1", "sqs-m1"))
    h.apply("consumer", Q, "m1", "sqs-m1")
    v = check_ordering(h, **PROCESSED)
    assert v.valid is True and not v.anomalies
    assert v.stats["messages_applied"] == 2 and v.stats["reapplied"] == 2


def test_groups_are_independent_and_unapplied_messages_are_not_judged() -> None:
    h = History()
    h.send("producer", Q, "a1", "sqs-a1", "a")
    h.send("producer", Q, "b1", "sqs-b1", "b")
    h.send("producer", Q, "a2", "sqs-a2", "a")
    h.receive("consumer", Q, ("a1", "sqs-a1"), ("b1", "sqs-b1"), ("a2", "sqs-a2"))
    h.apply("consumer", Q, "b1", "sqs-b1")  # another group: not behind a1
    h.apply("consumer", Q, "a1", "sqs-a1")
    # a2 is never applied: the consumer may have crashed
    v = check_ordering(h, **PROCESSED)
    assert v.valid is True and v.stats["pending_at_end"] == 1


def test_a_queue_not_processed_is_not_judged() -> None:
    h = sent("m1", "m2", queue="app-other.fifo")
    h.receive("consumer", "app-other.fifo", ("m1", "sqs-m1"), ("m2", "sqs-m2"))
    h.apply("consumer", "app-other.fifo", "m2", "sqs-m2")
    h.apply("consumer", "app-other.fifo", "m1", "sqs-m1")
    v = check_ordering(h, **PROCESSED)
    assert v.valid is True and v.stats["messages_applied"] == 0
    assert kinds(check_ordering(h, processed_queues=["app-*"])) == ["applied_out_of_order"]


def test_without_a_declaration_processing_order_is_skipped() -> None:
    h = sent("m1", "m2")
    h.receive("consumer", Q, ("m1", "sqs-m1"), ("m2", "sqs-m2"))
    h.apply("consumer", Q, "m2", "sqs-m2")
    h.apply("consumer", Q, "m1", "sqs-m1")
    v = check_ordering(h)
    assert v.valid is True and not v.anomalies
    assert v.stats["processing_skipped"] == "no processed_queues declared: processing order not judged"
    assert "messages_applied" not in v.stats
    # declared: judged, through the declarations' settings
    specs = Declarations(fifo_queues=("*-events.fifo",)).checker_specs()
    (v2,) = check(h, ["ordering"], specs=specs)
    assert kinds(v2) == ["applied_out_of_order"]


def test_the_group_is_learnt_from_the_receive_without_a_recorded_send() -> None:
    h = History()
    h.receive("consumer", Q, ("m1", "sqs-m1"), ("m2", "sqs-m2"), group="g")
    h.apply("consumer", Q, "m2", "sqs-m2")
    v = check_ordering(h, **PROCESSED)
    assert kinds(v) == ["applied_out_of_order"]


def test_pending_memory_is_capped() -> None:
    h = History()
    h.receive("consumer", Q, *[(f"m{i}", f"sqs-m{i}") for i in range(5)], group="g")
    h.apply("consumer", Q, "m4", "sqs-m4")
    v = check_ordering(h, max_pending=2, **PROCESSED)
    assert v.stats["pending_dropped"] == 3
    assert [a.details["skipped"] for a in v.violations] == ["m3"]


def test_declared_fifo_queues_become_processed_queues() -> None:
    sm = StateMachine.of({"new": ["done"]}, initial="new", terminal=["done"])
    specs = Declarations(state_machine=sm, fifo_queues=("*-events.fifo",)).checker_specs()
    assert specs["ordering"] == {
        "allowed": [["new", "done"]],
        "initial_state": "new",
        "processed_queues": ["*-events.fifo"],
    }


# -- the systems record their applications, and pass ---------------------------------
def _ordering(result_verdicts):
    _, verdicts = result_verdicts
    (v,) = [v for v in verdicts if v.checker == "ordering"]
    return v


def test_the_reference_system_records_its_applications_and_passes() -> None:
    case = Case.of(
        1, [{"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}], default_plan(1), [], workers=1
    )
    v = _ordering(case.run())
    assert v.valid is True, [a.message for a in v.anomalies]
    assert v.stats["messages_applied"] > 0 and v.stats["applied_out_of_order"] == 0


def test_the_counter_example_records_its_applications_and_passes() -> None:
    system = "examples.counter.system:system"
    workload = load_system(system).workload.requests(2, 1)
    case = Case.of(1, list(workload), default_plan(1), [], system=system)
    v = _ordering(case.run())
    assert v.valid is True, [a.message for a in v.anomalies]
    assert v.stats["messages_applied"] > 0 and v.stats["applied_out_of_order"] == 0
