"""A judge on Amazon Bedrock, through the Converse API of ``bedrock-runtime``."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from harness.audit.judge import JudgeError, Judgement, JudgeRequest, parse_answer, render_prompt

SYSTEM_PROMPT = (
    "You are a strict verification agent. You judge another agent's output against a rubric, "
    "using only the evidence given, and answer with a single JSON object."
)

#: stop reasons after which the answer is complete
_COMPLETE = frozenset({"end_turn", "stop_sequence"})


class BedrockJudge:
    """Calls ``converse`` with the judge prompt and parses the JSON answer.

    ``client`` is a ``bedrock-runtime`` client (``session.client("bedrock-runtime")``);
    the judge never retries: a throttled or failed call is a :class:`JudgeError`.
    """

    def __init__(
        self, client: Any, model_id: str, *, max_tokens: int = 400, temperature: float = 0.0
    ) -> None:
        self.client = client
        self.model_id = model_id
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.name = f"bedrock:{model_id}"

    @classmethod
    def from_session(cls, session: Any, model_id: str, **kw: Any) -> BedrockJudge:
        return cls(session.client("bedrock-runtime"), model_id, **kw)

    def request_params(self, request: JudgeRequest) -> dict[str, Any]:
        """The ``converse`` parameters for ``request``."""
        return {
            "modelId": self.model_id,
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": render_prompt(request)}]}],
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }

    def judge(self, request: JudgeRequest) -> Judgement:
        try:
            resp = self.client.converse(**self.request_params(request))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "ClientError")
            raise JudgeError(f"Bedrock converse failed: {code}") from None
        except BotoCoreError as e:
            raise JudgeError(f"Bedrock converse failed: {e}") from None
        stop = resp.get("stopReason")
        if stop not in _COMPLETE:
            raise JudgeError(f"Bedrock stopped with {stop!r}; the answer is incomplete")
        content = (resp.get("output", {}).get("message", {}) or {}).get("content", [])
        text = "".join(block.get("text", "") for block in content if isinstance(block, dict))
        usage = resp.get("usage", {})
        return parse_answer(
            text, self.model_id, int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
        )


__all__ = ["SYSTEM_PROMPT", "BedrockJudge"]
