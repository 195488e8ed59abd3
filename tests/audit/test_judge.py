"""The judge port: the scripted offline judge, and the Bedrock Converse
adapter against botocore's Stubber."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from harness.audit import JudgeAuditor, JudgeError, JudgeRequest, ScriptedJudge
from harness.audit.bedrock import SYSTEM_PROMPT, BedrockJudge
from harness.audit.judge import parse_answer, render_prompt
from tests.audit.conftest import make_output, make_world

SOURCES = [{"source_id": "t1/s0", "text": "heat pumps: falling costs at 12.5 percent", "value": 12.5}]
GOOD = {
    "title": "b",
    "paragraphs": ["heat pumps: falling costs at 12.5 percent [t1/s0]."],
    "citations": ["t1/s0"],
}
BAD = {
    "title": "b",
    "paragraphs": ["Governments banned gas boilers everywhere [t1/s0]."],
    "citations": ["t1/s0"],
}
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _out(output: dict[str, Any]) -> Any:
    return make_output({"subtask_id": "t1/write/0", "task_id": "t1", "capability": "write", "output": output})


def test_scripted_judge_accepts_supported_output_and_rejects_the_rest() -> None:
    auditor = JudgeAuditor(ScriptedJudge(seed=1))
    world = make_world(SOURCES)
    assert auditor.audit(_out(GOOD), world) == []
    (f,) = auditor.audit(_out(BAD), world)
    assert f.kind == "judged_unsupported" and f.severity == "warning"
    assert f.details["judge"] == "scripted-judge-1" and f.details["score"] < 0.6
    assert auditor.calls == 2 and auditor.tokens > 0


def test_scripted_judge_is_deterministic_per_seed() -> None:
    req = JudgeRequest("rubric", "costs fell sharply", "costs rose", "write")
    a, b = ScriptedJudge(seed=3, noise=0.5), ScriptedJudge(seed=3, noise=0.5)
    assert a.judge(req) == b.judge(req)
    scores = {ScriptedJudge(seed=s, noise=0.5).judge(req).score for s in range(8)}
    assert len(scores) > 1


def test_judge_severity_is_configurable() -> None:
    (f,) = JudgeAuditor(ScriptedJudge(), severity="error").audit(_out(BAD), make_world(SOURCES))
    assert f.severity == "error"


@pytest.mark.parametrize(
    "text",
    ["no json here", '{"verdict": "maybe"}', '{"verdict": "pass", "score": 7}', "{not json}"],
)
def test_malformed_answers_are_judge_errors(text: str) -> None:
    with pytest.raises(JudgeError):
        parse_answer(text, "m")


def test_answer_inside_a_code_fence_is_read() -> None:
    j = parse_answer('```json\n{"verdict": "fail", "score": 0.2, "reason": "made up"}\n```', "m", 3, 4)
    assert (j.passed, j.score, j.reason, j.input_tokens, j.output_tokens) == (False, 0.2, "made up", 3, 4)


# -- Bedrock through botocore's Stubber ----------------------------------------


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("bedrock-runtime")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _converse(answer: str, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 120, "outputTokens": 18, "totalTokens": 138},
        "metrics": {"latencyMs": 412},
    }


def test_bedrock_judge_sends_the_converse_request_and_reads_the_answer(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    judge = BedrockJudge(client, MODEL, max_tokens=300)
    req = JudgeRequest("rubric", "subject", "evidence", "write")
    expected = {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": render_prompt(req)}]}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.0},
    }
    answer = json.dumps({"verdict": "fail", "score": 0.1, "reason": "the subject is not in the evidence"})
    stub.add_response("converse", _converse(answer), expected)
    j = judge.judge(req)
    assert (j.passed, j.score, j.model) == (False, 0.1, MODEL)
    assert (j.input_tokens, j.output_tokens) == (120, 18)


def test_bedrock_judge_in_an_auditor(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_response("converse", _converse('{"verdict": "pass", "score": 0.9, "reason": "ok"}'))
    stub.add_response("converse", _converse('{"verdict": "fail", "score": 0.1, "reason": "invented"}'))
    auditor = JudgeAuditor(BedrockJudge(client, MODEL))
    world = make_world(SOURCES)
    assert auditor.audit(_out(GOOD), world) == []
    (f,) = auditor.audit(_out(BAD), world)
    assert f.kind == "judged_unsupported" and "invented" in f.message
    assert auditor.tokens == 2 * 138


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (_converse('{"verdict": "pass"', "max_tokens"), "max_tokens"),
        (_converse("I think it is fine."), "not JSON"),
        (_converse("", "guardrail_intervened"), "guardrail_intervened"),
    ],
)
def test_bedrock_incomplete_or_malformed_answers(
    bedrock: tuple[Any, Stubber], response: dict[str, Any], match: str
) -> None:
    client, stub = bedrock
    stub.add_response("converse", response)
    with pytest.raises(JudgeError, match=match):
        BedrockJudge(client, MODEL).judge(JudgeRequest("r", "s", "e"))


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException", "ModelTimeoutException"])
def test_bedrock_service_errors_become_judge_errors(bedrock: tuple[Any, Stubber], code: str) -> None:
    client, stub = bedrock
    stub.add_client_error("converse", service_error_code=code, http_status_code=429)
    with pytest.raises(JudgeError, match=code):
        BedrockJudge(client, MODEL).judge(JudgeRequest("r", "s", "e"))


def test_a_failing_judge_is_an_info_finding_not_a_crash(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    (f,) = JudgeAuditor(BedrockJudge(client, MODEL)).audit(_out(GOOD), make_world(SOURCES))
    assert (f.kind, f.severity) == ("judge_error", "info")
