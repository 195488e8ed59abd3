"""The fault contract (harness/faults/README.md): every kind of fault is one
AWS permits where it is aimed. A plan aiming one where AWS could never
produce it is refused when it loads; where a glob leaves the target open, the
injector carries it out only in the form AWS permits there. Each rule: a case
it must accept and one it must refuse, or a behaviour it must and must not
show."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings

from harness.chaos.experiments import shipped
from harness.faults import (
    SERVICE_THROTTLE_CODES,
    THROTTLE_CODES,
    Fault,
    FaultPlan,
    PlanError,
    Target,
    Trigger,
)
from harness.faults.contract import EVENTUALLY_CONSISTENT_READS, throttle_answer
from harness.faults.defaults import default_plan
from harness.strategies import fault_plans

from .conftest import Rig

ROOT = Path(__file__).resolve().parents[2]
RECEIVE = Target(service="sqs", operation="ReceiveMessage")


def _plan(kind: str, target: dict[str, Any] | None = None, **params: Any) -> str:
    fault: dict[str, Any] = {"kind": kind, "target": target or {}}
    if params:
        fault["params"] = params
    return json.dumps({"faults": [{"kind": "delay"}, fault]})


# -- refused when the plan loads -------------------------------------------------------

ACCEPTED: list[tuple[str, str]] = [
    ("dup-receive", _plan("duplicate_delivery", {"service": "sqs", "operation": "ReceiveMessage"})),
    ("dup-any-service", _plan("duplicate_delivery", {"operation": "ReceiveMessage"})),
    ("dup-glob-op", _plan("duplicate_delivery", {"service": "sqs", "operation": "Receive*"})),
    ("dup-everything", _plan("duplicate_delivery")),
    ("dup-fifo-queue", _plan("duplicate_delivery", {"operation": "ReceiveMessage", "resource": "jobs.fifo"})),
    ("reorder-standard", _plan("reorder", {"operation": "ReceiveMessage", "resource": "jobs"})),
    ("reorder-any-queue", _plan("reorder", {"operation": "ReceiveMessage", "resource": "*"})),
    *[(f"stale-{op}", _plan("stale_read", {"service": "dynamodb", "operation": op}))
      for op in EVENTUALLY_CONSISTENT_READS],
    ("stale-glob", _plan("stale_read", {"operation": "Get*"})),
    ("stale-table", _plan("stale_read", {"operation": "GetItem", "resource": "mas-tasks"})),
    ("throttle-default", _plan("throttle", {"service": "sqs"})),
    *[(f"throttle-{svc}-{code}", _plan("throttle", {"service": svc}, code=code))
      for svc, codes in sorted(SERVICE_THROTTLE_CODES.items()) for code in sorted(codes)],
    ("throttle-glob-any-code", _plan("throttle", {"service": "*"}, code="SlowDown")),
    ("throttle-unknown-service", _plan("throttle", {"service": "s3"}, code="SlowDown")),
]  # fmt: skip

REFUSED: list[tuple[str, str, str, str]] = [
    ("dup-send", _plan("duplicate_delivery", {"service": "sqs", "operation": "SendMessage"}),
     "faults.1.target.operation", "ReceiveMessage"),
    ("dup-dynamodb", _plan("duplicate_delivery", {"service": "dynamodb"}), "faults.1.target.service", "SQS"),
    ("reorder-delete", _plan("reorder", {"operation": "DeleteMessage"}), "faults.1.target.operation", "ReceiveMessage"),
    ("reorder-sns", _plan("reorder", {"service": "sns", "operation": "*"}), "faults.1.target.service", "SQS"),
    ("reorder-fifo", _plan("reorder", {"operation": "ReceiveMessage", "resource": "jobs.fifo"}),
     "faults.1.target.resource", "FIFO"),
    ("reorder-fifo-glob", _plan("reorder", {"resource": "*.fifo"}), "faults.1.target.resource", "in order"),
    ("stale-write", _plan("stale_read", {"service": "dynamodb", "operation": "PutItem"}),
     "faults.1.target.operation", "not an eventually consistent read"),
    ("stale-transaction", _plan("stale_read", {"operation": "TransactGetItems"}),
     "faults.1.target.operation", "TransactGetItems"),
    ("stale-sqs", _plan("stale_read", {"service": "sqs"}), "faults.1.target.service", "DynamoDB"),
    ("throttle-foreign-code", _plan("throttle", {"service": "sqs"}, code="ProvisionedThroughputExceededException"),
     "faults.1.params.code", "RequestThrottled"),
    ("throttle-events-sqs-code", _plan("throttle", {"service": "events"}, code="RequestThrottled"),
     "faults.1.params.code", "ThrottlingException"),
    ("throttle-lambda-dynamodb-code", _plan("throttle", {"service": "lambda"}, code="RequestLimitExceeded"),
     "faults.1.params.code", "TooManyRequestsException"),
]  # fmt: skip


@pytest.mark.parametrize("text", [t for _, t in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_the_contract_accepts(text: str) -> None:
    assert len(FaultPlan.parse(text).faults) == 2


@pytest.mark.parametrize(("text", "field", "why"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_the_contract_refuses_with_a_one_line_reason(tmp_path: Path, text: str, field: str, why: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(PlanError) as e:
        FaultPlan.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: {field}: "), msg
    assert why in msg and "\n" not in msg


def _plans_in(doc: Any) -> list[Any]:
    if isinstance(doc, dict):
        found = [doc] if isinstance(doc.get("faults"), list) else []
        return found + [p for v in doc.values() for p in _plans_in(v)]
    if isinstance(doc, list):
        return [p for v in doc for p in _plans_in(v)]
    return []


def test_every_shipped_plan_keeps_to_the_contract() -> None:
    plans = [p for f in sorted(shipped().values()) for p in _plans_in(json.loads(f.read_text()))]
    assert plans, "the chaos experiments carry fault plans"
    for p in plans:
        FaultPlan.model_validate({k: v for k, v in p.items() if k in ("seed", "faults")})
    FaultPlan.parse(default_plan(7).model_dump_json())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=fault_plans(max_faults=4, bounded=False))
def test_the_strategies_draw_only_plans_the_contract_accepts(plan: FaultPlan) -> None:
    assert FaultPlan.parse(plan.model_dump_json()) == plan


# -- duplicate_delivery: standard queues vs FIFO queues ----------------------------------


def _send(rig: Rig, url: str, *bodies: str, group: str | None = None) -> None:
    sqs = rig.plain("sqs")
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b, **({"MessageGroupId": group} if group else {}))


def _bodies(resp: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in resp.get("Messages", [])]


def _fifo(rig: Rig, name: str = "jobs.fifo") -> str:
    """A FIFO queue whose messages stay in flight for the whole test (moto
    itself never redelivers them, however slow the machine)."""
    return rig.queue(name, VisibilityTimeout="600")


def test_a_standard_queue_may_deliver_a_deleted_message_again(rig: Rig) -> None:
    """At-least-once: a copy on a server that missed the delete comes back."""
    url = rig.queue()
    _send(rig, url, "a", "b")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    (a,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"])
    assert _bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["b", "a"]
    assert len(rig.nemesis("duplicate_delivery")) == 1


def test_a_fifo_queue_never_delivers_a_deleted_message_again(rig: Rig) -> None:
    """The false alarm this contract exists for: the same receives on a FIFO
    queue, with the fault firing on every one, deliver a and b once each."""
    url = _fifo(rig)
    _send(rig, url, "a", "b", group="g")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE))
    sqs = rig.client("sqs")
    got = []
    for _ in range(4):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert got == ["a", "b"]
    assert rig.nemesis() == []


def test_a_fifo_message_in_flight_may_be_delivered_again(rig: Rig) -> None:
    """Not deleted (its visibility timeout may run out, its delete may fail)
    and nothing later of its group delivered: SQS may deliver it again."""
    url = _fifo(rig)
    _send(rig, url, "a", "b", group="g")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    (a,) = sqs.receive_message(QueueUrl=url)["Messages"]
    (again,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # b is held by a
    assert again["MessageId"] == a["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert _bodies(sqs.receive_message(QueueUrl=url)) == ["b"]
    (n,) = rig.nemesis("duplicate_delivery")
    assert n.value["sqs_id"] == a["MessageId"]


def test_a_fifo_message_overtaken_by_its_group_is_not_delivered_again(rig: Rig) -> None:
    """a and b of one group in flight together: SQS would deliver a again
    first, never b alone, and a not after b. Once a is deleted, b may come again."""
    url = _fifo(rig)
    _send(rig, url, "a", "b", group="g")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(every=2)))
    sqs = rig.client("sqs")
    a, b = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # fired: nothing
    assert rig.nemesis() == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"])
    sqs.receive_message(QueueUrl=url)  # the 3rd receive: does not fire
    (again,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["MessageId"] == b["MessageId"]


def test_a_fifo_message_of_another_group_does_not_stop_a_redelivery(rig: Rig) -> None:
    url = _fifo(rig)
    _send(rig, url, "a", group="g1")
    _send(rig, url, "x", group="g2")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=3)))
    sqs = rig.client("sqs")
    (a,) = sqs.receive_message(QueueUrl=url)["Messages"]
    (x,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert x["Body"] == "x"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=x["ReceiptHandle"])
    (again,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["MessageId"] == a["MessageId"]


def test_a_fifo_message_of_unknown_group_counts_as_any_group(rig: Rig) -> None:
    """A receive that did not ask for MessageGroupId: the other message may
    be of the same group, so nothing is delivered again."""
    url = _fifo(rig)
    _send(rig, url, "a", group="g1")
    _send(rig, url, "x", group="g2")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=3)))
    sqs = rig.client("sqs")
    no_groups = {"MessageSystemAttributeNames": ["ApproximateReceiveCount"]}
    sqs.receive_message(QueueUrl=url, **no_groups)
    sqs.receive_message(QueueUrl=url, **no_groups)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, **no_groups)
    assert rig.nemesis() == []


def test_a_fifo_duplicate_chosen_then_deleted_before_delivery_is_not_delivered(rig: Rig) -> None:
    """On the first receive the duplicate is of a message it returns, due on
    the next receive; a delete in between cancels it (checked again on delivery)."""
    for delete, expected in ((True, []), (False, ["a"])):
        url = _fifo(rig, f"jobs-{delete}.fifo")
        _send(rig, url, "a", group="g")
        rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=1)))
        sqs = rig.client("sqs")
        (a,) = sqs.receive_message(QueueUrl=url)["Messages"]
        if delete:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"])
        assert _bodies(sqs.receive_message(QueueUrl=url)) == expected


def test_a_fifo_batch_delete_counts_as_deleted(rig: Rig) -> None:
    url = _fifo(rig)
    _send(rig, url, "a", "b", group="g")
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert rig.nemesis() == []


def test_a_fifo_message_whose_delete_failed_may_be_delivered_again(rig: Rig) -> None:
    url = _fifo(rig)
    _send(rig, url, "a", group="g")
    rig.arm(
        Fault(kind="drop_request", target=Target(operation="DeleteMessage"), trigger=Trigger(nth=1)),
        Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(nth=2)),
    )
    sqs = rig.client("sqs")
    (a,) = sqs.receive_message(QueueUrl=url)["Messages"]
    with pytest.raises(ConnectTimeoutError):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"])
    assert _bodies(sqs.receive_message(QueueUrl=url)) == ["a"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fifo_consumer_under_duplicates_sees_each_group_in_order(rig: Rig, seed: int) -> None:
    """Whatever the consumer deletes or leaves in flight, per group every
    delivery is the next new message, or the latest one again while it is
    not deleted: what SQS FIFO permits."""
    rnd = random.Random(seed)
    url = _fifo(rig)
    groups = {g: [f"{g}-{i}" for i in range(5)] for g in ("g1", "g2", "g3")}
    for g, bodies in groups.items():
        _send(rig, url, *bodies, group=g)
    rig.arm(Fault(kind="duplicate_delivery", target=RECEIVE, trigger=Trigger(probability=0.7)), seed=seed)
    sqs = rig.client("sqs")
    seen: dict[str, list[str]] = {g: [] for g in groups}
    deleted: set[str] = set()
    in_flight: list[dict[str, Any]] = []
    for _ in range(40):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=rnd.choice([1, 1, 3])).get(
            "Messages", []
        ):
            g, body = m["Attributes"]["MessageGroupId"], m["Body"]
            if body in seen[g]:
                assert body == seen[g][-1] and body not in deleted, (g, body, seen[g], deleted)
            else:
                assert body == groups[g][len(seen[g])], (g, body, seen[g])
                seen[g].append(body)
            in_flight.append(m)
        while in_flight and rnd.random() < 0.5:
            m = in_flight.pop(0)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            deleted.add(m["Body"])
    assert rig.nemesis("duplicate_delivery"), "the fault fired"


# -- reorder: standard queues only ------------------------------------------------------


def test_reorder_reorders_a_standard_queue_and_never_a_fifo_one(rig: Rig) -> None:
    std, fifo = rig.queue("std"), _fifo(rig, "ord.fifo")
    _send(rig, std, "1", "2", "3")
    _send(rig, fifo, "1", "2", "3", group="g")
    rig.arm(Fault(kind="reorder", target=RECEIVE))
    sqs = rig.client("sqs")
    assert _bodies(sqs.receive_message(QueueUrl=std, MaxNumberOfMessages=10)) == ["3", "2", "1"]
    assert _bodies(sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)) == ["1", "2", "3"]
    assert len(rig.nemesis("reorder")) == 1


# -- stale_read: eventually consistent reads only ----------------------------------------


def test_stale_read_only_without_consistent_read(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="stale_read", target=Target(service="dynamodb", operation="GetItem")))
    ddb = rig.client("dynamodb")
    for v in (1, 2):
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "version": {"N": str(v)}})
    key = {"pk": {"S": "a"}}
    assert ddb.get_item(TableName="items", Key=key, ConsistentRead=True)["Item"]["version"] == {"N": "2"}
    assert rig.nemesis() == []
    assert ddb.get_item(TableName="items", Key=key)["Item"]["version"] == {"N": "1"}
    assert len(rig.nemesis("stale_read")) == 1


# -- lose_ack: the call was applied --------------------------------------------------------


@pytest.mark.parametrize("error", ["timeout", "InternalServerError"])
def test_a_lost_ack_comes_after_the_call_took_effect(rig: Rig, error: str) -> None:
    url = rig.queue()
    rig.table()
    rig.arm(Fault(kind="lose_ack", target=Target(operation="PutItem"), params={"error": error}),
            Fault(kind="lose_ack", target=Target(operation="SendMessage"), params={"error": error}),
            Fault(kind="lose_ack", target=Target(operation="DeleteMessage"), params={"error": error}))  # fmt: skip
    s = rig.session()
    ddb, sqs = s.client("dynamodb"), s.client("sqs")
    raised = ReadTimeoutError if error == "timeout" else ClientError
    with pytest.raises(raised):
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}})
    with pytest.raises(raised):
        sqs.send_message(QueueUrl=url, MessageBody="sent")
    plain = rig.plain("sqs")
    (m,) = plain.receive_message(QueueUrl=url)["Messages"]
    assert m["Body"] == "sent"
    with pytest.raises(raised):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert rig.plain("dynamodb").get_item(TableName="items", Key={"pk": {"S": "a"}}, ConsistentRead=True)[
        "Item"
    ]
    attrs = plain.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    # The history says "unknown outcome", never "failed".
    assert {o.type for f in ("dynamodb.PutItem", "sqs.SendMessage", "sqs.DeleteMessage")
            for o in rig.completions(f)} == {"info"}  # fmt: skip


# -- throttle: each service's own codes, never applied --------------------------------------


def test_every_default_throttle_code_is_one_the_service_uses_and_botocore_retries() -> None:
    """The defaults are codes botocore's standard retry mode treats as
    throttling (legacy mode retries them too, but for SQS's RequestThrottled,
    which it retries only with HTTP 403)."""
    from botocore.retries.standard import ThrottledRetryableChecker

    retried = set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)
    for service, code in THROTTLE_CODES.items():
        assert code in SERVICE_THROTTLE_CODES[service]
        assert code in retried, code
    assert throttle_answer("lambda") == ("ThrottlingException", 400)  # a common error of every service
    assert throttle_answer("lambda", "TooManyRequestsException") == ("TooManyRequestsException", 429)


def test_every_service_throttle_code_is_in_botocores_model_or_common_errors() -> None:
    import botocore.session

    models = botocore.session.get_session()
    for service, codes in SERVICE_THROTTLE_CODES.items():
        model = models.get_service_model(service)
        modelled = {
            (model.shape_for(n).metadata.get("error") or {}).get("code") or n
            for n in model.shape_names
            if model.shape_for(n).metadata.get("exception")
        }
        # ThrottlingException is in every API Reference's Common Errors;
        # Throttling is its code in the query protocol (SNS).
        assert codes - modelled <= {"ThrottlingException", "Throttling"}, (service, codes - modelled)


def test_a_glob_aimed_throttle_uses_each_services_own_code(rig: Rig) -> None:
    url = rig.queue()
    rig.table()
    rig.arm(Fault(kind="throttle", params={"code": "ProvisionedThroughputExceededException"}))
    s = rig.session()
    with pytest.raises(ClientError) as sqs_err:
        s.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(ClientError) as ddb_err:
        s.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert sqs_err.value.response["Error"]["Code"] == "RequestThrottled"
    assert ddb_err.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert [n.value["code"] for n in rig.nemesis("throttle")] == [
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
    ]
    assert "Messages" not in rig.plain("sqs").receive_message(QueueUrl=url)  # never applied
