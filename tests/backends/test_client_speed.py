"""In-process backends sign without hashing and reuse User-Agent strings:
moto sees the same access key, region and account; requests to any other
host are signed for real; everything is put back when the backend closes;
and a simulated run's history is the same with or without it."""

from __future__ import annotations

import hashlib
import sys
from contextlib import nullcontext

import boto3
import botocore.auth as auth
import botocore.useragent as useragent
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness import settings
from harness.backends import embedded
from harness.backends._client_speed import UNCHECKED_SIGNATURE
from harness.history.jsonl import dumps_op
from harness.sim.case import Case

ORIGINAL_ADD_AUTH = auth.SigV4Auth.add_auth
ORIGINAL_TO_STRING = useragent.UserAgentString.to_string


def _signed(url: str, token: str | None = None) -> AWSRequest:
    req = AWSRequest(method="POST", url=url, data=b"Action=ListQueues", headers={"Host": "x"})
    signer = auth.SigV4Auth(Credentials("AKIDHARNESS", "secret", token), "sqs", "eu-west-1")
    signer.add_auth(req)
    return req


def test_a_moto_request_carries_the_header_sigv4_gives_it_but_unhashed() -> None:
    with embedded("inprocess"):
        fast = _signed("https://sqs.eu-west-1.amazonaws.com/", token="tok")
        header = fast.headers["Authorization"]
        assert header.startswith("AWS4-HMAC-SHA256 Credential=AKIDHARNESS/")
        assert "/eu-west-1/sqs/aws4_request, SignedHeaders=" in header
        assert header.endswith(f"Signature={UNCHECKED_SIGNATURE}")
        assert fast.headers["X-Amz-Security-Token"] == "tok"
        assert fast.headers["X-Amz-Date"]
        # a host moto does not answer is signed for real
        real = _signed("http://127.0.0.1:4566/")
        assert not real.headers["Authorization"].endswith(UNCHECKED_SIGNATURE)
    assert auth.SigV4Auth.add_auth is ORIGINAL_ADD_AUTH
    assert (
        not _signed("https://sqs.eu-west-1.amazonaws.com/")
        .headers["Authorization"]
        .endswith(UNCHECKED_SIGNATURE)
    )


def test_moto_sees_the_same_caller() -> None:
    with embedded("inprocess") as ep:
        s = boto3.Session(**ep.session_kwargs())
        sts = s.client("sts").get_caller_identity()
        url = s.client("sqs").create_queue(QueueName="who")["QueueUrl"]
    assert sts["Account"] in url
    assert url.startswith(f"https://sqs.{settings.REGION}.amazonaws.com/")


def test_user_agent_strings_are_reused_and_the_same() -> None:
    with embedded("inprocess") as ep:
        client = boto3.Session(**ep.session_kwargs()).client("sqs")
        ua = client._user_agent_creator
        assert useragent.UserAgentString.to_string is not ORIGINAL_TO_STRING
        first = ua.to_string()
        assert first == ORIGINAL_TO_STRING(ua)
        assert ua.to_string() is first  # built once
        ua.set_client_features({"Z"})
        other = ua.to_string()
        assert other != first and other == ORIGINAL_TO_STRING(ua)
    assert useragent.UserAgentString.to_string is ORIGINAL_TO_STRING


def _digest(case: Case) -> str:
    result, _ = case.run()
    return hashlib.sha256(b"".join(dumps_op(op) for op in result.ops)).hexdigest()


def test_a_run_is_the_same_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case.of(3, [{"request_id": "r0", "token_budget": 4000, "topic": "kelp"}])
    fast = _digest(case)
    monkeypatch.setattr(sys.modules["harness.backends.embedded"], "cheaper_client_requests", nullcontext)
    assert _digest(case) == fast
