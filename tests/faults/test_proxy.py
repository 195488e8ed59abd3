"""The loopback TCP proxy: a real socket-level partition in front of moto's server."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

import harness
from harness.backends import Endpoints
from harness.faults import TcpProxy
from harness.history.recorder import Recorder

#: Small timeouts and no retries, so that a partition shows at once.
QUICK = Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 1, "mode": "standard"})
CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError)


@pytest.fixture
def proxy(server_endpoints: Endpoints) -> Iterator[TcpProxy]:
    target = urlsplit(server_endpoints.urls["sqs"] or "")
    with TcpProxy(target.hostname or "", target.port or 0) as p:
        yield p


def _through(ep: Endpoints, proxy: TcpProxy) -> Endpoints:
    return dataclasses.replace(ep, urls={svc: proxy.url for svc in ep.urls})


def _clients(ep: Endpoints, proxy: TcpProxy, rec: Recorder, agent: str = "worker-1") -> tuple[Any, Any]:
    s = harness.session(_through(ep, proxy), agent, rec)
    return s.client("sqs", config=QUICK), s.client("dynamodb", config=QUICK)


def _setup(sqs: Any, ddb: Any) -> str:
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    ddb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return str(url)


def test_clients_work_through_the_proxy(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder
) -> None:
    sqs, ddb = _clients(server_endpoints, proxy, recorder)
    assert sqs.meta.endpoint_url == proxy.url
    url = _setup(sqs, ddb)
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["hi"]
    ddb.put_item(TableName="items", Item={"pk": {"S": "a"}})
    assert ddb.get_item(TableName="items", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert proxy.accepted >= 1 and proxy.refused == 0 and not proxy.is_cut
    # Same backend, reached directly.
    direct = harness.session(server_endpoints, "direct").client("dynamodb")
    assert direct.get_item(TableName="items", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_cut_fails_calls_quickly_with_a_connection_error_and_heal_restores(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder
) -> None:
    sqs, ddb = _clients(server_endpoints, proxy, recorder)
    url = _setup(sqs, ddb)
    proxy.cut()
    assert proxy.is_cut
    for call in (
        lambda: sqs.send_message(QueueUrl=url, MessageBody="lost?"),
        lambda: ddb.put_item(TableName="items", Item={"pk": {"S": "cut"}}),
    ):
        t = time.monotonic()
        with pytest.raises(CONNECTION_ERRORS):
            call()
        assert time.monotonic() - t < 2.5
    assert proxy.refused >= 2
    failed = [o for o in recorder.ops if o.type in ("fail", "info")]
    assert [o.f for o in failed] == ["sqs.SendMessage", "dynamodb.PutItem"]
    assert all(o.error in ("EndpointConnectionError", "ConnectionClosedError") for o in failed)

    proxy.heal()
    assert not proxy.is_cut
    sqs.send_message(QueueUrl=url, MessageBody="after")
    ddb.put_item(TableName="items", Item={"pk": {"S": "healed"}})
    assert [o.type for o in recorder.ops[-4:]] == ["invoke", "ok", "invoke", "ok"]
    direct = harness.session(server_endpoints, "direct")
    assert "Item" not in direct.client("dynamodb").get_item(TableName="items", Key={"pk": {"S": "cut"}})
    assert "Item" in direct.client("dynamodb").get_item(TableName="items", Key={"pk": {"S": "healed"}})


def _long_poll_in_thread(sqs: Any, url: str, wait: int) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        t = time.monotonic()
        try:
            out["result"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait)
        except Exception as e:  # noqa: BLE001 - asserted on below
            out["error"] = e
        out["took"] = time.monotonic() - t

    th = threading.Thread(target=run)
    th.start()
    return th, out


@pytest.mark.parametrize("how", ["cut", "reset"])
def test_cut_and_reset_break_open_connections(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder, how: str
) -> None:
    sqs, ddb = _clients(server_endpoints, proxy, recorder)
    url = _setup(sqs, ddb)
    slow = harness.session(_through(server_endpoints, proxy), "poller", recorder).client(
        "sqs",
        config=Config(
            connect_timeout=1, read_timeout=10, retries={"total_max_attempts": 1, "mode": "standard"}
        ),
    )
    th, out = _long_poll_in_thread(slow, url, wait=8)
    time.sleep(0.7)
    getattr(proxy, how)()
    th.join(timeout=5)
    assert not th.is_alive()
    assert isinstance(out.get("error"), CONNECTION_ERRORS), out
    assert out["took"] < 3
    (done,) = [o for o in recorder.ops if o.meta.get("agent") == "poller" and o.type != "invoke"]
    assert done.type == "info"  # the request had been sent: its outcome is unknown
    if how == "reset":
        # New connections still go through.
        sqs.send_message(QueueUrl=url, MessageBody="after reset")
    else:
        with pytest.raises(CONNECTION_ERRORS):
            sqs.send_message(QueueUrl=url, MessageBody="still cut")


def test_long_polls_outlast_the_connect_timeout(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder
) -> None:
    """A long poll may sit idle on the connection for longer than 5 s."""
    sqs, ddb = _clients(server_endpoints, proxy, recorder)
    url = _setup(sqs, ddb)
    poller = harness.session(_through(server_endpoints, proxy), "poller", recorder).client(
        "sqs", config=Config(read_timeout=15, retries={"total_max_attempts": 1, "mode": "standard"})
    )
    th, out = _long_poll_in_thread(poller, url, wait=6)
    th.join(timeout=12)
    assert "error" not in out, out
    assert "Messages" not in out["result"] and out["took"] >= 5.5


def test_a_cut_partitions_only_the_agent_behind_that_proxy(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder
) -> None:
    target = urlsplit(server_endpoints.urls["sqs"] or "")
    with TcpProxy(target.hostname or "", target.port or 0) as other:
        sqs1, ddb1 = _clients(server_endpoints, proxy, recorder, "worker-1")
        sqs2, _ = _clients(server_endpoints, other, recorder, "worker-2")
        url = _setup(sqs1, ddb1)
        proxy.cut()
        with pytest.raises(CONNECTION_ERRORS):
            sqs1.send_message(QueueUrl=url, MessageBody="1")
        sqs2.send_message(QueueUrl=url, MessageBody="2")
        assert [m["Body"] for m in sqs2.receive_message(QueueUrl=url)["Messages"]] == ["2"]


def test_aws_errors_pass_through_unchanged(
    server_endpoints: Endpoints, proxy: TcpProxy, recorder: Recorder
) -> None:
    sqs, _ = _clients(server_endpoints, proxy, recorder)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="nope")
    assert "NonExistentQueue" in e.value.response["Error"]["Code"]


@pytest.mark.parametrize("host", ["10.0.0.1", "0.0.0.0", "example.com", "192.168.1.1", "::1"])
def test_refuses_non_loopback_targets(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        TcpProxy(host, 80)


def test_localhost_is_loopback_and_close_is_prompt() -> None:
    p = TcpProxy("localhost", 9)  # nothing listens there: connections are reset
    assert p.url.startswith("http://127.0.0.1:") and p.port > 0
    # Handled (reset by the proxy), so the proxy's thread is back in accept().
    with pytest.raises(ConnectionResetError), socket.create_connection(("127.0.0.1", p.port), timeout=2) as c:
        c.recv(1)
    t = time.monotonic()
    p.close()
    assert time.monotonic() - t < 1
    assert not p._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.port), timeout=1)
