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
