"""AWS-call faults through the instrumented Session, against in-process moto:
each does what it claims and nothing else, and the real state is read back
with a plain (uninstrumented) session."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from harness.faults import THROTTLE_CODES, AgentCrash, Fault, Target, Trigger

from .conftest import Rig


def _queue_depth(rig: Rig, url: str) -> int:
    attrs = rig.plain("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _item(rig: Rig, pk: str, table: str = "items") -> dict | None:
    return (
        rig.plain("dynamodb")
        .get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        .get("Item")
    )


# -- drop_request ---------------------------------------------------------------


def test_drop_request_fails_the_call_and_does_not_apply_it(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="drop_request", target=Target(service="sqs", operation="SendMessage")))
    sqs = rig.client("sqs", "writer")
    with pytest.raises(ConnectTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="lost")
    assert _queue_depth(rig, url) == 0
    (done,) = rig.completions("sqs.SendMessage")
    assert done.type == "fail" and done.error == "ConnectTimeoutError"
    (n,) = rig.nemesis("drop_request")
    assert n.key == "writer:sqs.SendMessage" and n.value["fault"] == "drop_request#0"


def test_drop_request_on_a_dynamodb_write_leaves_the_table_untouched(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="drop_request", target=Target(operation="PutItem")))
    ddb = rig.client("dynamodb")
    with pytest.raises(ConnectTimeoutError):
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert _item(rig, "a") is None
    # Calls the target does not match go through.
    ddb.update_item(TableName="items", Key={"pk": {"S": "b"}}, UpdateExpression="SET n = :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
    assert _item(rig, "b") == {"pk": {"S": "b"}, "n": {"N": "1"}}
    assert [o.type for o in rig.completions("dynamodb.PutItem")] == ["fail"]
    assert [o.type for o in rig.completions("dynamodb.UpdateItem")] == ["ok"]


# -- lose_ack ---------------------------------------------------------------------


def test_lose_ack_applies_the_call_and_the_caller_sees_a_read_timeout(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="lose_ack", target=Target(service="sqs", operation="SendMessage")))
    sqs = rig.client("sqs", "writer")
    with pytest.raises(ReadTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="applied")
    msgs = rig.plain("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in msgs] == ["applied"]
    (done,) = rig.completions("sqs.SendMessage")
    assert done.type == "info" and done.error == "ReadTimeoutError"
    (n,) = rig.nemesis("lose_ack")
    assert n.value["error"] == "timeout"


def test_lose_ack_with_an_aws_5xx_code(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="lose_ack", target=Target(service="dynamodb", operation="PutItem"),
                  params={"error": "InternalServerError"}))  # fmt: skip
    ddb = rig.client("dynamodb")
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    assert e.value.response["Error"]["Code"] == "InternalServerError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert _item(rig, "a") == {"pk": {"S": "a"}, "v": {"N": "1"}}
    (done,) = rig.completions("dynamodb.PutItem")
    assert done.type == "info" and done.error == "InternalServerError"
    (n,) = rig.nemesis("lose_ack")
    assert n.value["error"] == "InternalServerError"


def test_lose_ack_then_retry_duplicates_a_standard_queue_send(rig: Rig) -> None:
    """What the fault is for: the caller retries a call that already took effect."""
    url = rig.queue()
    rig.arm(Fault(kind="lose_ack", target=Target(operation="SendMessage"), trigger=Trigger(nth=1)))
    sqs = rig.client("sqs")
    with pytest.raises(ReadTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert _queue_depth(rig, url) == 2
    assert [o.type for o in rig.completions("sqs.SendMessage")] == ["info", "ok"]


# -- throttle ---------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(THROTTLE_CODES))
def test_throttle_answers_with_the_services_own_code_and_does_not_apply(rig: Rig, service: str) -> None:
    calls = {
        "sqs": lambda c: c.create_queue(QueueName="throttled"),
        "dynamodb": lambda c: c.create_table(
            TableName="throttled",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        ),
        "sns": lambda c: c.create_topic(Name="throttled"),
        "events": lambda c: c.create_event_bus(Name="throttled"),
        "stepfunctions": lambda c: c.create_activity(name="throttled"),
    }
    listed = {
        "sqs": lambda c: c.list_queues().get("QueueUrls", []),
        "dynamodb": lambda c: c.list_tables()["TableNames"],
        "sns": lambda c: c.list_topics()["Topics"],
        "events": lambda c: [b for b in c.list_event_buses()["EventBuses"] if b["Name"] == "throttled"],
        "stepfunctions": lambda c: c.list_activities()["activities"],
    }
    rig.arm(Fault(kind="throttle", target=Target(service=service)))
    with pytest.raises(ClientError) as e:
        calls[service](rig.client(service))
    assert e.value.response["Error"]["Code"] == THROTTLE_CODES[service]
    assert listed[service](rig.plain(service)) == []
    (done,) = rig.completions(f"{service}.{e.value.operation_name}")
    assert done.type == "fail" and done.error == THROTTLE_CODES[service]
    (n,) = rig.nemesis("throttle")
    assert n.value["code"] == THROTTLE_CODES[service]


def test_throttle_code_can_be_given(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="throttle", target=Target(service="dynamodb"), params={"code": "ThrottlingException"}))
    with pytest.raises(ClientError) as e:
        rig.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert _item(rig, "a") is None


# -- partition --------------------------------------------------------------------


def test_partition_cuts_only_the_targeted_agent_from_the_targeted_service(rig: Rig) -> None:
    url = rig.queue()
    rig.table()
    rig.arm(Fault(kind="partition", target=Target(agent="worker-1", service="dynamodb")))
    cut = rig.session("worker-1")
    other = rig.session("worker-2")
    with pytest.raises(EndpointConnectionError):
        cut.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "cut"}})
    with pytest.raises(EndpointConnectionError):
        cut.client("dynamodb").get_item(TableName="items", Key={"pk": {"S": "cut"}})
    cut.client("sqs").send_message(QueueUrl=url, MessageBody="still reaches sqs")
    other.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "other"}})
    assert _item(rig, "cut") is None
    assert _item(rig, "other") is not None
    assert _queue_depth(rig, url) == 1
    failed = [o for o in rig.recorder.ops if o.type == "fail"]
    assert [(o.meta["agent"], o.f, o.error) for o in failed] == [
        ("worker-1", "dynamodb.PutItem", "EndpointConnectionError"),
        ("worker-1", "dynamodb.GetItem", "EndpointConnectionError"),
    ]
    assert [n.key for n in rig.nemesis("partition")] == [
        "worker-1:dynamodb.PutItem",
        "worker-1:dynamodb.GetItem",
    ]


# -- delay ------------------------------------------------------------------------


def test_delay_sleeps_the_configured_seconds_then_applies(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="delay", target=Target(operation="SendMessage"), params={"seconds": 2.5}))
    sqs = rig.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="late")
    sqs.receive_message(QueueUrl=url)  # not targeted: no sleep
    assert rig.clock.slept == [2.5]
    assert rig.clock() == 2.5
    assert _queue_depth(rig, url) == 1
    assert [o.type for o in rig.completions("sqs.SendMessage")] == ["ok"]
    (n,) = rig.nemesis("delay")
    assert n.value["seconds"] == 2.5


def test_delay_defaults_to_one_second(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="delay", target=Target(service="dynamodb")))
    rig.client("dynamodb").describe_table(TableName="items")
    assert rig.clock.slept == [1.0]


# -- crash aimed at a call ----------------------------------------------------------


@pytest.mark.parametrize(("when", "applied"), [("before", False), ("after", True)])
def test_call_crash_kills_the_agent_before_or_after_the_call(rig: Rig, when: str, applied: bool) -> None:
    rig.table()
    rig.arm(Fault(kind="crash", target=Target(agent="w", service="dynamodb", operation="PutItem"),
                  params={"when": when}))  # fmt: skip
    ddb = rig.client("dynamodb", "w")
    with pytest.raises(AgentCrash) as e:
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert e.value.agent == "w"
    assert isinstance(e.value, BaseException) and not isinstance(e.value, Exception)
    assert (_item(rig, "a") is not None) is applied
    assert rig.crashed == ["w"]
    # The crashed call never completes: its invocation stays open in the history.
    assert [o.type for o in rig.recorder.ops if o.f == "dynamodb.PutItem"] == ["invoke"]
    (n,) = rig.nemesis("crash")
    assert n.value == {"fault": "crash#0", "agent": "w"}
    # A call-aimed crash is not a step crash.
    assert rig.injector is not None and rig.injector.on_step("w") == 0.0


def test_call_crash_defaults_to_after(rig: Rig) -> None:
    rig.table()
    rig.arm(Fault(kind="crash", target=Target(operation="PutItem")))
    with pytest.raises(AgentCrash):
        rig.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert _item(rig, "a") is not None


# -- untargeted calls and no plan ----------------------------------------------------


def test_a_plan_without_matching_faults_changes_nothing(rig: Rig) -> None:
    url = rig.queue()
    rig.arm(Fault(kind="drop_request", target=Target(agent="someone-else")))
    sqs = rig.client("sqs", "writer")
    sqs.send_message(QueueUrl=url, MessageBody="a")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["a"]
    assert rig.nemesis() == []
    assert rig.injector is not None and rig.injector.injected == 0
