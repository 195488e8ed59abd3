"""The language-model judge: a port, a scripted offline default, and the
auditor that asks a judge about each output.

A judge answers one question: does this subject meet this rubric, given this
evidence? Real adapters (see :mod:`harness.audit.bedrock`) call a model
service; :class:`ScriptedJudge` answers offline, deterministically from its
seed and the request, like the reference system's scripted model.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.audit.auditors.base import OutputAuditor, content_words
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World

DEFAULT_RUBRIC = (
    "Every claim in the subject is supported by the evidence; nothing is invented, "
    "and every number matches the evidence."
)


class JudgeError(RuntimeError):
    """The judge gave no usable answer (service error, malformed or cut-off output)."""


@dataclass(frozen=True, slots=True)
class JudgeRequest:
    rubric: str
    subject: str
    evidence: str
    capability: str | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    passed: bool
    score: float
    reason: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class Judge(Protocol):
    name: str

    def judge(self, request: JudgeRequest) -> Judgement: ...


def render_prompt(request: JudgeRequest) -> str:
    """The one prompt every model-backed judge sends."""
    return (
        f"Rubric: {request.rubric}\n\n"
        f"Evidence:\n{request.evidence or '(none)'}\n\n"
        f"Subject:\n{request.subject}\n\n"
        'Answer with one JSON object and nothing else: {"verdict": "pass" or "fail", '
        '"score": a number from 0 to 1, "reason": one sentence}.'
    )


def parse_answer(text: str, model: str, input_tokens: int = 0, output_tokens: int = 0) -> Judgement:
    """A judge model's JSON answer as a Judgement; JudgeError if it is not one."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise JudgeError(f"judge answer is not JSON: {text[:80]!r}")
    try:
        obj = json.loads(text[start : end + 1])
    except ValueError as e:
        raise JudgeError(f"judge answer is not valid JSON: {e}") from None
    verdict = obj.get("verdict") if isinstance(obj, dict) else None
    if verdict not in ("pass", "fail"):
        raise JudgeError(f"judge answer has no verdict pass|fail: {text[:80]!r}")
    score = obj.get("score", 1.0 if verdict == "pass" else 0.0)
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
        raise JudgeError(f"judge score must be a number from 0 to 1, got {score!r}")
    return Judgement(
        verdict == "pass", float(score), str(obj.get("reason", "")), model, input_tokens, output_tokens
    )


@dataclass
class ScriptedJudge:
    """Offline judge: scores the share of the subject's content words that the
    evidence contains, plus seeded noise (``noise=0``: none); passes at
    ``threshold``. The same (seed, request) always gives the same judgement."""

    seed: int = 0
    threshold: float = 0.6
    noise: float = 0.0
    name: str = "scripted-judge-1"

    def judge(self, request: JudgeRequest) -> Judgement:
        prompt = render_prompt(request)
        h = hashlib.blake2b(f"{self.seed}|{prompt}".encode(), digest_size=8).digest()
        rng = random.Random(int.from_bytes(h, "big"))
        words = content_words(request.subject)
        support = len(words & content_words(request.evidence)) / len(words) if words else 1.0
        score = min(1.0, max(0.0, support + rng.uniform(-self.noise, self.noise)))
        passed = score >= self.threshold
        reason = (
            f"{support:.0%} of the subject's words are in the evidence"
            if passed
            else f"only {support:.0%} of the subject's words are in the evidence"
        )
        answer = json.dumps(
            {"verdict": "pass" if passed else "fail", "score": round(score, 3), "reason": reason}
        )
        return parse_answer(answer, self.name, len(prompt.split()), len(answer.split()))


class JudgeAuditor(OutputAuditor):
    """Asks a judge about each output of ``capabilities``; a failed judgement
    is a finding of ``severity`` (a warning by default: a model's opinion
    should not alone fail a run)."""

    name = "judge"

    def __init__(
        self,
        judge: Judge,
        *,
        capabilities: Sequence[str] = ("write",),
        rubric: str = DEFAULT_RUBRIC,
        severity: str = "warning",
    ) -> None:
        self.judge = judge
        self.capabilities = tuple(capabilities)
        self.rubric = rubric
        self.severity = severity
        self.calls = 0
        self.tokens = 0

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.status != "ok" or out.capability not in self.capabilities:
            return []
        request = JudgeRequest(self.rubric, _subject(out.output), _evidence(out, world), out.capability)
        self.calls += 1
        try:
            j = self.judge.judge(request)
        except JudgeError as e:
            return [
                self.finding(out, "judge_error", f"{self.judge.name}: {e}", "info", judge=self.judge.name)
            ]
        self.tokens += j.input_tokens + j.output_tokens
        if j.passed:
            return []
        return [
            self.finding(
                out,
                "judged_unsupported",
                f"{j.model} judged the output fails the rubric (score {j.score:.2f}): {j.reason}",
                self.severity,
                judge=j.model,
                score=j.score,
                input_tokens=j.input_tokens,
                output_tokens=j.output_tokens,
            )
        ]


def _subject(output: object) -> str:
    if isinstance(output, dict) and isinstance(output.get("paragraphs"), list):
        return "\n".join(str(p) for p in output["paragraphs"])
    return json.dumps(output, sort_keys=True, default=str)


def _evidence(out: AgentOutput, world: World) -> str:
    return "\n".join(
        f"[{sid}] {s.text}" for sid, srcs in sorted(world.sources_for(out).items()) for s in srcs
    )


__all__ = [
    "DEFAULT_RUBRIC",
    "Judge",
    "JudgeAuditor",
    "JudgeError",
    "JudgeRequest",
    "Judgement",
    "ScriptedJudge",
    "parse_answer",
    "render_prompt",
]
