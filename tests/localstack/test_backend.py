"""The LocalStack backend: what it starts, where it points, what it leaves behind."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

import harness
from harness.backends import Endpoints, localstack
from harness.backends.localstack import LOCALSTACK_ACCOUNT, LOCALSTACK_SERVICES

# The first LocalStack test of a fresh checkout also installs it (a few minutes, once).
pytestmark = [pytest.mark.localstack, pytest.mark.timeout(900)]


def test_every_service_points_at_loopback_and_dynamodb_at_dynamodb_local(ls: Endpoints) -> None:
    hosts = {svc: urlparse(url) for svc, url in ls.urls.items() if url}
    assert set(hosts) == {*LOCALSTACK_SERVICES, "dynamodb"}
    assert {u.hostname for u in hosts.values()} == {"127.0.0.1"}
    assert len({hosts[s].port for s in LOCALSTACK_SERVICES}) == 1
    assert hosts["dynamodb"].port != hosts["sqs"].port
    env = ls.to_env()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == ls.urls["dynamodb"]
    assert env["AWS_ENDPOINT_URL_SQS"] == ls.admin_url


def test_sts_reports_localstacks_account(ls: Endpoints) -> None:
    sts = harness.session(ls, "probe").client("sts")
    assert sts.get_caller_identity()["Account"] == LOCALSTACK_ACCOUNT


def test_queue_urls_name_the_loopback_endpoint(ls: Endpoints) -> None:
    sqs = harness.session(ls, "probe").client("sqs")
    url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    assert url.startswith(f"{ls.admin_url}/")
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    (msg,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert msg["Body"] == "hello"


def test_dynamodb_local_applies_conditional_writes(ls: Endpoints) -> None:
    ddb = harness.session(ls, "probe").client("dynamodb")
    ddb.create_table(
        TableName="cond",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = {"TableName": "cond", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}
    ddb.put_item(**put)
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(**put)


def test_sns_fans_out_to_sqs(ls: Endpoints) -> None:
    sess = harness.session(ls, "probe")
    sqs, sns = sess.client("sqs"), sess.client("sns")
    q = sqs.create_queue(QueueName="fan")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="fan")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="out")
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["out"]


def _backend_processes() -> dict[int, Path]:
    """Processes running in a LocalStack backend's temporary directory, with that directory."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            status = (proc / "status").read_text()
        except OSError:
            continue
        if cwd.name.startswith("harness-localstack.") and "zombie" not in status:
            out[int(proc.name)] = cwd
    return out


def test_a_second_backend_gets_its_own_ports_and_leaves_nothing_behind(ls: Endpoints) -> None:
    before = _backend_processes()
    with localstack() as other:
        assert other.admin_url != ls.admin_url and other.urls["dynamodb"] != ls.urls["dynamodb"]
        started = {pid: d for pid, d in _backend_processes().items() if pid not in before}
        assert len(started) == 2  # LocalStack and DynamoDB Local
        (work,) = set(started.values())
        assert work.is_dir()
    assert not set(started) & set(_backend_processes())
    assert not work.exists()
