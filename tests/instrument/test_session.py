from __future__ import annotations

import socket
import threading

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

import harness
from harness.backends import Endpoints
from harness.history import pair_operations
from harness.history.recorder import Recorder
from harness.instrument import Call, correlation, error_response
from harness.instrument.session import plain_session


def _aws_pairs(rec: Recorder) -> list:
    return [p for p in pair_operations(rec.ops) if "." in p.invoke.f and not p.invoke.f.startswith("effect.")]


def test_every_call_is_an_invoke_followed_by_its_completion(endpoints: Endpoints, recorder: Recorder) -> None:
    s = harness.session(endpoints, agent="writer", recorder=recorder)
    sqs = s.client("sqs")
    q = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="hello")
    msg = sqs.receive_message(QueueUrl=q)["Messages"][0]
    sqs.delete_message(QueueUrl=q, ReceiptHandle=msg["ReceiptHandle"])

    ops = recorder.ops
    assert [o.index for o in ops] == list(range(len(ops)))
    assert [(o.type, o.f) for o in ops] == [
        ("invoke", "sqs.CreateQueue"),
        ("ok", "sqs.CreateQueue"),
        ("invoke", "sqs.SendMessage"),
        ("ok", "sqs.SendMessage"),
        ("invoke", "sqs.ReceiveMessage"),
        ("ok", "sqs.ReceiveMessage"),
        ("invoke", "sqs.DeleteMessage"),
        ("ok", "sqs.DeleteMessage"),
    ]
    assert all(o.process == "writer" and o.meta["agent"] == "writer" for o in ops)
    assert all(a.time <= b.time for a, b in zip(ops, ops[1:], strict=False))
    send_ok, recv_ok, delete_inv = ops[3], ops[5], ops[6]
    assert send_ok.key == "jobs"
    logical = send_ok.value["message_id"]
    assert logical and send_ok.value["sqs_id"] == msg["MessageId"]
    (received,) = recv_ok.value["messages"]
    assert received["message_id"] == logical
    assert received["receive_count"] == 1
    assert delete_inv.value == {"sqs_id": msg["MessageId"]}


def test_aws_error_is_recorded_as_fail_with_its_code(endpoints: Endpoints, recorder: Recorder) -> None:
    ddb = harness.session(endpoints, "w", recorder).client("dynamodb")
    ddb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"pk": {"S": "a"}, "version": {"N": "1"}}
    ddb.put_item(TableName="items", Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError):
        ddb.put_item(TableName="items", Item=item, ConditionExpression="attribute_not_exists(pk)")
    puts = [p for p in pair_operations(recorder.ops) if p.invoke.f == "dynamodb.PutItem"]
    assert [p.type for p in puts] == ["ok", "fail"]
    assert puts[1].complete.error == "ConditionalCheckFailedException"
    assert puts[0].invoke.key == "items/a"
    assert puts[0].invoke.value["expect_version"] == 0 and puts[0].invoke.value["version"] == 1
    got = ddb.get_item(TableName="items", Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert got["Item"]["version"]["N"] == "1"
    read = recorder.ops[-1]
    assert read.value == {"item": {"pk": "a", "version": 1}, "version": 1, "consistent": True}


def test_unreachable_endpoint_is_a_fail_because_nothing_was_sent(recorder: Recorder) -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep = Endpoints(
        backend="test",
        region="us-east-1",
        access_key="x",
        secret_key="x",
        urls={"sqs": f"http://127.0.0.1:{port}"},
    )
    sqs = harness.session(ep, "w", recorder).client("sqs", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(EndpointConnectionError):
        sqs.send_message(QueueUrl=f"http://127.0.0.1:{port}/1/q", MessageBody="x")
    (pair,) = _aws_pairs(recorder)
    assert pair.type == "fail" and pair.complete.error == "EndpointConnectionError"


class _Timeout:
    """Applies the call, then loses the answer: the caller cannot know."""

    def intercept(self, call: Call, proceed):
        proceed()
        raise ReadTimeoutError(endpoint_url="http://harness.invalid")


class _Reject:
    def __init__(self) -> None:
        self.seen: list[Call] = []

    def intercept(self, call: Call, proceed):
        self.seen.append(call)
        if call.operation == "SendMessage":
            return error_response("ThrottlingException", status=400)
        return proceed()


def test_interceptor_timeout_is_info_and_the_call_did_apply(endpoints: Endpoints, recorder: Recorder) -> None:
    s = harness.session(endpoints, "w", recorder)
    sqs = s.client("sqs", config=Config(retries={"max_attempts": 1}))
    q = sqs.create_queue(QueueName="q")["QueueUrl"]
    s.add_interceptor(_Timeout())
    with pytest.raises(ReadTimeoutError):
        sqs.send_message(QueueUrl=q, MessageBody="x")
    pair = _aws_pairs(recorder)[-1]
    assert pair.invoke.f == "sqs.SendMessage" and pair.type == "info"
    body = plain_session(endpoints).client("sqs").receive_message(QueueUrl=q)["Messages"][0]["Body"]
    assert body == "x"


def test_interceptor_error_response_is_a_fail_and_not_applied(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    s = harness.session(endpoints, "w", recorder)
    sqs = s.client("sqs", config=Config(retries={"max_attempts": 1}))
    q = sqs.create_queue(QueueName="q")["QueueUrl"]
    rej = _Reject()
    s.add_interceptor(rej)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=q, MessageBody="x")
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert sqs.receive_message(QueueUrl=q).get("Messages", []) == []
    assert [c.operation for c in rej.seen] == ["SendMessage", "ReceiveMessage"]
    assert rej.seen[0].key == "q" and rej.seen[0].agent == "w"
    send = [p for p in _aws_pairs(recorder) if p.invoke.f == "sqs.SendMessage"][0]
    assert send.type == "fail" and send.complete.error == "ThrottlingException"
    s.remove_interceptor(rej)
    sqs.send_message(QueueUrl=q, MessageBody="y")
    assert _aws_pairs(recorder)[-1].type == "ok"


def test_correlation_id_is_stamped_into_messages_and_every_operation(
    endpoints: Endpoints, recorder: Recorder
) -> None:
    s = harness.session(endpoints, "w", recorder)
    sqs, sns = s.client("sqs"), s.client("sns")
    q = sqs.create_queue(QueueName="q")["QueueUrl"]
    with correlation("cid-1"):
        sqs.send_message(QueueUrl=q, MessageBody="x")
        topic = sns.create_topic(Name="t")["TopicArn"]
        sns.publish(TopicArn=topic, Message="m")
    raw = plain_session(endpoints).client("sqs").receive_message(QueueUrl=q, MessageAttributeNames=["All"])
    assert raw["Messages"][0]["MessageAttributes"]["correlation_id"]["StringValue"] == "cid-1"
    stamped = [o for o in recorder.ops if o.f in ("sqs.SendMessage", "sns.Publish")]
    assert stamped and all(o.correlation_id == "cid-1" for o in stamped)
    assert stamped[-1].key == "t"


def test_events_and_step_functions_calls_are_recorded(endpoints: Endpoints, recorder: Recorder) -> None:
    s = harness.session(endpoints, "w", recorder)
    ev = s.client("events")
    ev.put_events(Entries=[{"Source": "app", "DetailType": "status", "Detail": "{}"}])
    sfn = s.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="sm",
        definition='{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
        roleArn="arn:aws:iam::123456789012:role/x",
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, name="run-1")
    fs = [(o.type, o.f, o.key) for o in recorder.ops]
    assert ("ok", "events.PutEvents", "default") in fs
    assert ("ok", "stepfunctions.StartExecution", "sm") in fs


def test_threads_of_one_agent_are_distinct_processes(endpoints: Endpoints, recorder: Recorder) -> None:
    s = harness.session(endpoints, "w", recorder)
    sqs = s.client("sqs")
    q = sqs.create_queue(QueueName="q")["QueueUrl"]

    def send() -> None:
        for _ in range(5):
            sqs.send_message(QueueUrl=q, MessageBody="x")

    threads = [threading.Thread(target=send, name=f"t{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sends = [p for p in pair_operations(recorder.ops) if p.invoke.f == "sqs.SendMessage"]
    assert len(sends) == 20 and all(p.type == "ok" for p in sends)
    assert {p.invoke.process for p in sends} == {f"w/t{i}" for i in range(4)}


def test_uninstrumented_services_are_not_recorded(endpoints: Endpoints, recorder: Recorder) -> None:
    s3 = harness.session(endpoints, "w", recorder).client("s3")
    s3.create_bucket(Bucket="harness-bucket")
    assert recorder.ops == []
