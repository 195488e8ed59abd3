from __future__ import annotations

import urllib.parse

import boto3
import pytest

from harness.backends import SERVICES, BackendError, Endpoints, embedded


def _sqs(ep: Endpoints):
    return boto3.Session(**ep.session_kwargs()).client("sqs", endpoint_url=ep.url_for("sqs"))


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_state_is_reset_between_runs(mode: str) -> None:
    with embedded(mode) as ep:
        _sqs(ep).create_queue(QueueName="left-behind")
        assert len(_sqs(ep).list_queues().get("QueueUrls", [])) == 1
    with embedded(mode) as ep:
        assert _sqs(ep).list_queues().get("QueueUrls", []) == []


def test_server_mode_listens_on_loopback_only_with_per_service_urls() -> None:
    with embedded("server") as ep:
        assert set(ep.urls) == set(SERVICES)
        for url in ep.urls.values():
            parsed = urllib.parse.urlparse(url)
            assert parsed.hostname == "127.0.0.1"
            assert parsed.port and parsed.port > 0
        env = ep.to_env()
        assert env["AWS_ENDPOINT_URL_SQS"] == ep.urls["sqs"]
        assert Endpoints.from_json(ep.to_json()) == ep


def test_inprocess_mode_needs_no_url() -> None:
    with embedded("inprocess") as ep:
        assert ep.url_for("sqs") is None
        assert ep.backend == "embedded-inprocess"


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="unknown embedded mode"), embedded("docker"):  # type: ignore[arg-type]
        pass


def test_seed_makes_generated_ids_repeatable() -> None:
    ids = []
    for _ in range(2):
        with embedded("inprocess", seed=42) as ep:
            q = _sqs(ep).create_queue(QueueName="q")["QueueUrl"]
            ids.append(_sqs(ep).send_message(QueueUrl=q, MessageBody="x")["MessageId"])
    assert ids[0] == ids[1]


@pytest.mark.parametrize("mode", ["inprocess", "server"])
@pytest.mark.parametrize(
    ("service", "backend", "method", "call"),
    [
        ("sqs", "moto.sqs.models.SQSBackend", "list_queues", "list_queues"),  # JSON protocol
        ("sns", "moto.sns.models.SNSBackend", "list_topics", "list_topics"),  # XML (query) protocol
    ],
)
def test_an_emulator_bug_is_a_500_answer_in_both_modes(
    mode: str, service: str, backend: str, method: str, call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto raising inside a handler reaches the caller as an HTTP 500
    (retryable, outcome unknown), never as a bare Python exception."""
    import importlib

    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    from harness.history.recorder import Recorder
    from harness.instrument.session import session

    mod, cls = backend.rsplit(".", 1)

    def broken(*args: object, **kwargs: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'callback_pool_manager'")

    monkeypatch.setattr(getattr(importlib.import_module(mod), cls), method, broken)
    rec = Recorder()
    with embedded(mode) as ep:
        client = session(ep, "probe", rec).client(service, config=Config(retries={"max_attempts": 1}))
        # moto's server answers with an HTML error page, which botocore cannot
        # parse for XML protocols: a ResponseParserError, not a ClientError.
        with pytest.raises((ClientError, BotoCoreError, ResponseParserError)) as err:
            getattr(client, call)()
    if mode == "inprocess":
        assert isinstance(err.value, ClientError)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert err.value.response["Error"]["Code"] == "InternalFailure"
    assert [o.type for o in rec.ops if o.f.endswith(call.title().replace("_", ""))] == ["invoke", "info"]


def test_without_a_backend_open_moto_is_left_as_it_was() -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    before = BotocoreStubber.process_request
    with embedded("inprocess"):
        assert BotocoreStubber.process_request is not before
    assert BotocoreStubber.process_request is before


def test_an_operation_moto_lacks_stays_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a failed call but a gap in the emulator: it must not be retried as a 500."""
    from moto.sqs.models import SQSBackend

    def missing(*args: object, **kwargs: object) -> None:
        raise NotImplementedError("The list_queues action has not been implemented")

    monkeypatch.setattr(SQSBackend, "list_queues", missing)
    with embedded("inprocess") as ep, pytest.raises(NotImplementedError):
        _sqs(ep).list_queues()


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_a_fifo_group_is_redelivered_in_order_after_its_visibility_timeout(mode: str) -> None:
    """Both messages of a group received at once and never deleted come back
    in send order (moto alone returns the second first and holds the first back)."""
    import time

    with embedded(mode) as ep:
        sqs = _sqs(ep)
        q = sqs.create_queue(QueueName="p.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"})[
            "QueueUrl"
        ]
        for body in ("a", "b"):
            sqs.send_message(QueueUrl=q, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
        first = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in first] == ["a", "b"]
        assert sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", []) == []  # in flight
        time.sleep(1.3)
        again = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in again] == ["a", "b"]
