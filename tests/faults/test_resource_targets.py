"""Faults aimed at a resource (a queue, topic, table, bus, state machine or
function, by name glob): what each call addresses, plans that name one, and
faults that hit only the calls to it (in-process moto)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError

from harness.faults import AgentCrash, Fault, FaultPlan, PlanError, Target, Trigger, call_resources

from .conftest import Rig

ACCOUNT = "123456789012"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/mas-research"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:mas-status"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:brief-flow"


# -- what a call addresses, service by service ------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "x"}, ("mas-research",)),
        ("ReceiveMessage", {"QueueUrl": "http://localhost:5000/000000000000/jobs.fifo"}, ("jobs.fifo",)),
        ("CreateQueue", {"QueueName": "mas-write"}, ("mas-write",)),
        ("GetQueueUrl", {"QueueName": "mas-write"}, ("mas-write",)),
        ("ListQueues", {}, ()),
    ],
)
def test_sqs_calls_address_their_queue(operation: str, params: dict[str, Any], expected: tuple) -> None:
    assert call_resources("sqs", operation, params) == expected


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("Publish", {"TopicArn": TOPIC, "Message": "m"}, ("mas-status",)),
        ("Publish", {"TargetArn": TOPIC, "Message": "m"}, ("mas-status",)),
        ("Publish", {"PhoneNumber": "+15555550100", "Message": "m"}, ()),
        (
            "Unsubscribe",
            {"SubscriptionArn": f"{TOPIC}:0b7e5c3a-1111-2222-3333-444455556666"},
            ("mas-status",),
        ),
        ("CreateTopic", {"Name": "mas-status"}, ("mas-status",)),
        ("ListTopics", {}, ()),
    ],
)
def test_sns_calls_address_their_topic(operation: str, params: dict[str, Any], expected: tuple) -> None:
    assert call_resources("sns", operation, params) == expected


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("GetItem", {"TableName": "mas-tasks", "Key": {}}, ("mas-tasks",)),
        ("PutItem", {"TableName": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/mas-tasks"}, ("mas-tasks",)),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "mas-tasks", "Item": {}}},
                    {"ConditionCheck": {"TableName": "mas-ledger", "Key": {}}},
                    {"Update": {"TableName": "mas-tasks", "Key": {}}},
                ]
            },
            ("mas-ledger", "mas-tasks"),
        ),
        (
            "BatchWriteItem",
            {"RequestItems": {"mas-tasks": [], "mas-registry": []}},
            ("mas-registry", "mas-tasks"),
        ),
        ("ListTables", {}, ()),
    ],
)
def test_dynamodb_calls_address_every_table_in_the_request(
    operation: str, params: dict[str, Any], expected: tuple
) -> None:
    assert call_resources("dynamodb", operation, params) == expected


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        (
            "PutEvents",
            {"Entries": [{"EventBusName": "orders", "Detail": "{}"}, {"Detail": "{}"}]},
            ("default", "orders"),
        ),
        (
            "PutEvents",
            {"Entries": [{"EventBusName": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"}]},
            ("orders",),
        ),
        ("PutRule", {"Name": "r", "EventBusName": "orders"}, ("orders",)),
        ("PutRule", {"Name": "r"}, ("default",)),
        ("CreateEventBus", {"Name": "orders"}, ("orders",)),
        ("ListEventBuses", {}, ()),
    ],
)
def test_eventbridge_calls_address_their_bus(operation: str, params: dict[str, Any], expected: tuple) -> None:
    assert call_resources("events", operation, params) == expected


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("StartExecution", {"stateMachineArn": MACHINE, "input": "{}"}, ("brief-flow",)),
        ("StartExecution", {"stateMachineArn": f"{MACHINE}:PROD"}, ("brief-flow",)),
        (
            "DescribeExecution",
            {"executionArn": f"arn:aws:states:us-east-1:{ACCOUNT}:execution:brief-flow:run-1"},
            ("brief-flow",),
        ),
        ("CreateStateMachine", {"name": "brief-flow", "definition": "{}"}, ("brief-flow",)),
        ("SendTaskSuccess", {"taskToken": "t", "output": "{}"}, ()),
    ],
)
def test_step_functions_calls_address_their_state_machine(
    operation: str, params: dict[str, Any], expected: tuple
) -> None:
    assert call_resources("stepfunctions", operation, params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"FunctionName": "summarise"}, ("summarise",)),
        ({"FunctionName": "summarise:live"}, ("summarise",)),
        ({"FunctionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:summarise:7"}, ("summarise",)),
        ({"FunctionName": f"{ACCOUNT}:function:summarise"}, ("summarise",)),
        ({}, ()),
    ],
)
def test_lambda_calls_address_their_function(params: dict[str, Any], expected: tuple) -> None:
    assert call_resources("lambda", "Invoke", params) == expected


@pytest.mark.parametrize(
    ("target", "resources", "expected"),
    [
        (Target(resource="*-research"), ("mas-research",), True),
        (Target(resource="*-research"), ("mas-research-dlq",), False),
        (Target(resource="mas-*"), ("other", "mas-tasks"), True),  # any table of a transaction
        (Target(resource="*"), ("anything",), True),
        (Target(resource="*"), (), False),  # a call that addresses nothing
        (Target(), (), True),
        (Target(service="dynamodb", resource="mas-tasks"), ("mas-tasks",), True),
    ],
)
def test_resource_globs(target: Target, resources: tuple[str, ...], expected: bool) -> None:
    service = "dynamodb" if target.service == "dynamodb" else "sqs"
    assert target.matches("a", service, "SendMessage", resources) is expected


# -- plans -------------------------------------------------------------------------------


def test_a_plan_with_a_resource_target_loads_and_round_trips(tmp_path: Any) -> None:
    text = '{"seed": 3, "faults": [{"kind": "throttle", "target": {"service": "sqs", "resource": "*-research"}}]}'
    plan = FaultPlan.parse(text)
    assert plan.faults[0].target == Target(service="sqs", resource="*-research")
    path = tmp_path / "plan.json"
    plan.dump(path)
    assert FaultPlan.load(path) == plan
    assert '"resource": "*-research"' in path.read_text()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ('{"resource": 7}', "faults.0.target.resource: Input should be a valid string"),
        ('{"resource": ""}', "faults.0.target.resource: String should have at least 1 character"),
        ('{"resource": "arn:aws:sqs:us-east-1:1:q"}', "is a URL or an ARN: give the resource's name"),
        ('{"resource": "https://sqs.x/1/q"}', "is a URL or an ARN"),
        ('{"resources": "q"}', "faults.0.target.resources: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_resource_is_a_one_line_error(target: str, message: str) -> None:
    with pytest.raises(PlanError) as e:
        FaultPlan.parse(f'{{"faults": [{{"kind": "throttle", "target": {target}}}]}}', "p.json")
    assert message in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith("p.json: ")


@pytest.mark.parametrize("kind", ["pause", "clock_skew", "model"])
def test_faults_that_make_no_call_refuse_a_resource(kind: str) -> None:
    with pytest.raises(PlanError) as e:
        FaultPlan.parse(f'{{"faults": [{{"kind": "{kind}", "target": {{"resource": "mas-*"}}}}]}}', "p.json")
    msg = str(e.value)
    assert msg.startswith("p.json: faults.0.target.resource: ") and "address no resource" in msg
    assert "\n" not in msg


def test_a_crash_aimed_at_a_resource_crashes_on_calls_to_it_not_on_steps(rig: Rig) -> None:
    research, write = rig.queue("mas-research"), rig.queue("mas-write")
    rig.arm(Fault(kind="crash", target=Target(agent="w-1", resource="*-research"), params={"when": "before"}))
    assert rig.injector is not None and rig.injector.on_step("w-1") == 0.0
    sqs = rig.client("sqs", "w-1")
    sqs.send_message(QueueUrl=write, MessageBody="fine")
    with pytest.raises(AgentCrash):
        sqs.send_message(QueueUrl=research, MessageBody="boom")
    assert rig.crashed == ["w-1"]


# -- on moto -------------------------------------------------------------------------------


def test_a_throttle_aimed_at_a_queue_glob_hits_only_that_queue(rig: Rig) -> None:
    research, write = rig.queue("mas-research"), rig.queue("mas-write")
    dlq = rig.queue("mas-research-dlq")
    rig.arm(
        *FaultPlan.parse('{"faults": [{"kind": "throttle", "target": {"resource": "*-research"}}]}').faults
    )
    sqs = rig.client("sqs", "supervisor")
    for url in (write, dlq):
        sqs.send_message(QueueUrl=url, MessageBody="through")
        assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
    for call in (
        lambda: sqs.send_message(QueueUrl=research, MessageBody="throttled"),
        lambda: sqs.receive_message(QueueUrl=research),
        lambda: sqs.get_queue_url(QueueName="mas-research"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "RequestThrottled"
    sqs.list_queues()  # addresses no queue: never matched
    truth = rig.plain("sqs").get_queue_attributes(
        QueueUrl=research, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert truth["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert [n.key for n in rig.nemesis("throttle")] == [
        "supervisor:sqs.SendMessage",
        "supervisor:sqs.ReceiveMessage",
        "supervisor:sqs.GetQueueUrl",
    ]


def test_a_fault_aimed_at_a_table_hits_a_transaction_that_touches_it(rig: Rig) -> None:
    rig.table("mas-tasks")
    rig.table("mas-ledger")
    rig.arm(Fault(kind="drop_request", target=Target(service="dynamodb", resource="mas-ledger")))
    ddb = rig.client("dynamodb")
    ddb.put_item(TableName="mas-tasks", Item={"pk": {"S": "a"}})
    with pytest.raises(ConnectTimeoutError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "mas-tasks", "Item": {"pk": {"S": "b"}}}},
                {"Put": {"TableName": "mas-ledger", "Item": {"pk": {"S": "b"}}}},
            ]
        )
    plain = rig.plain("dynamodb")
    assert plain.get_item(TableName="mas-tasks", Key={"pk": {"S": "b"}}).get("Item") is None
    assert [n.key for n in rig.nemesis("drop_request")] == ["agent:dynamodb.TransactWriteItems"]


def test_the_nth_trigger_counts_only_calls_to_the_resource(rig: Rig) -> None:
    urls = {name: rig.queue(name) for name in ("a", "b")}
    rig.arm(Fault(kind="throttle", target=Target(resource="b"), trigger=Trigger(nth=2)))
    sqs = rig.client("sqs")
    throttled = []
    for i, name in enumerate("abab" + "b"):
        try:
            sqs.send_message(QueueUrl=urls[name], MessageBody=str(i))
        except ClientError:
            throttled.append((i, name))
    assert throttled == [(3, "b")]
