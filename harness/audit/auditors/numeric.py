"""Numeric consistency: the numbers an output states agree with each other and
with what the history recorded."""

from __future__ import annotations

from harness.audit.auditors.base import OutputAuditor, numbers, same_number
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World


class NumericAuditor(OutputAuditor):
    """Checks that

    - a research fact's ``value`` is the number its text states;
    - two facts with the same ``source_id`` in one task agree;
    - a review's ``score`` lies in ``score_range``;
    - ``tokens_used`` equals the tokens of the model calls the producer made
      for the subtask in the same attempt (when the history shows them).
    """

    name = "numeric"

    def __init__(self, score_range: tuple[float, float] = (0, 10)) -> None:
        self.score_range = score_range

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        found: list[Finding] = []
        if out.status == "ok" and isinstance(out.output, dict):
            if out.capability == "research":
                found += self._facts(out, world)
            elif out.capability == "review":
                found += self._score(out)
        found += self._tokens(out, world)
        return found

    def _facts(self, out: AgentOutput, world: World) -> list[Finding]:
        found: list[Finding] = []
        facts = out.output.get("facts")
        seen: dict[str, tuple[str, object]] = {}
        for i, fact in enumerate(facts if isinstance(facts, list) else []):
            if not isinstance(fact, dict):
                continue
            text, value, sid = fact.get("text"), fact.get("value"), fact.get("source_id")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(text, str):
                stated = numbers(text)
                if not any(same_number(value, n) for n in stated):
                    found.append(
                        self.finding(
                            out,
                            "value_mismatch",
                            f"fact {i} ({sid}) has value {value} but its text states "
                            f"{', '.join(map(str, stated)) or 'no number'}",
                            fact=i,
                            value=value,
                            stated=stated,
                        )
                    )
            if isinstance(sid, str):
                if sid in seen and seen[sid] != (text, value):
                    found.append(
                        self.finding(
                            out,
                            "conflicting_sources",
                            f"two facts share source id {sid!r} but differ",
                            source_id=sid,
                        )
                    )
                seen.setdefault(sid, (text, value))
                for prior in world.sources.get(out.task_id, {}).get(sid, []):
                    if prior.op != out.op and (prior.text, prior.value) != (text, value):
                        found.append(
                            self.finding(
                                out,
                                "conflicting_sources",
                                f"source {sid!r} was reported differently by an earlier output (op {prior.op})",
                                source_id=sid,
                                earlier_op=prior.op,
                            )
                        )
                        break
        return found

    def _score(self, out: AgentOutput) -> list[Finding]:
        score = out.output.get("score")
        lo, hi = self.score_range
        if isinstance(score, (int, float)) and not isinstance(score, bool) and not lo <= score <= hi:
            return [
                self.finding(out, "out_of_range", f"review score {score} is outside {lo}..{hi}", score=score)
            ]
        return []

    def _tokens(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.tokens_used is None:
            return []
        if out.tokens_used < 0:
            return [self.finding(out, "negative_tokens", f"tokens_used is {out.tokens_used}")]
        spent = world.attempt_spend(out)
        if spent is None or spent == out.tokens_used:
            return []
        return [
            self.finding(
                out,
                "token_count_mismatch",
                f"reports {out.tokens_used} tokens used but its model calls in this attempt spent {spent}",
                reported=out.tokens_used,
                recorded=spent,
            )
        ]
