"""The language-model port, and a deterministic, seeded, offline scripted model.

Workers never talk to a model service directly: they call a :class:`Model`.
The scripted model returns structured outputs with token counts, derived only
from the seed and the prompt, so runs are repeatable and need no network.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Completion:
    output: dict[str, Any]
    input_tokens: int
    output_tokens: int
    model: str = "scripted-1"
    #: Generation stopped at ``max_tokens`` (passed in the context): the output is incomplete.
    truncated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Model(Protocol):
    """What a worker needs of a language model."""

    name: str

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Completion: ...


def count_tokens(text: str) -> int:
    """A crude, stable token count: words and punctuation runs."""
    return max(1, len(text.split()))


_ADJ = ["rising", "falling", "steady", "volatile", "emerging", "declining", "regional", "global"]
_NOUN = ["demand", "costs", "adoption", "capacity", "regulation", "investment", "supply", "usage"]


@dataclass
class ScriptedModel:
    """Deterministic model: the same (seed, kind, prompt) gives the same answer."""

    seed: int = 0
    name: str = "scripted-1"
    verbosity: int = 1
    calls: int = field(default=0, init=False)

    def _rng(self, kind: str, prompt: str) -> random.Random:
        h = hashlib.blake2b(f"{self.seed}|{kind}|{prompt}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(h, "big"))

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Completion:
        self.calls += 1
        rng = self._rng(kind, prompt)
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise ValueError(f"scripted model has no script for {kind!r}")
        output: dict[str, Any] = handler(rng, prompt, context)
        text = " ".join(str(v) for v in _flatten(output))
        out_tokens = count_tokens(text)
        limit = context.get("max_tokens")
        if limit is not None and out_tokens > limit:
            # Generation stops at the limit: the caller pays for what was generated.
            return Completion(
                {"truncated": True}, count_tokens(prompt), int(limit), self.name, truncated=True
            )
        return Completion(output, count_tokens(prompt), out_tokens, self.name)

    def _plan(self, rng: random.Random, prompt: str, ctx: dict[str, Any]) -> dict[str, Any]:
        topic = ctx["topic"]
        n = rng.randint(2, 3)
        aspects = rng.sample(_NOUN, n)
        return {"subtopics": [f"{topic}: {a}" for a in aspects]}

    def _research(self, rng: random.Random, prompt: str, ctx: dict[str, Any]) -> dict[str, Any]:
        subtopic = ctx["subtopic"]
        facts = []
        for i in range(rng.randint(2, 3) * self.verbosity):
            value = round(rng.uniform(1, 100), 1)
            facts.append(
                {
                    "source_id": f"{ctx['subtask_id']}-s{i}",
                    "text": f"{subtopic} shows {rng.choice(_ADJ)} {rng.choice(_NOUN)} at {value} percent",
                    "value": value,
                }
            )
        return {"facts": facts}

    def _write(self, rng: random.Random, prompt: str, ctx: dict[str, Any]) -> dict[str, Any]:
        facts = ctx["facts"]
        paras = [f"{f['text']} [{f['source_id']}]." for f in facts]
        return {
            "title": f"Brief: {ctx['topic']}",
            "paragraphs": paras,
            "citations": [f["source_id"] for f in facts],
        }

    def _review(self, rng: random.Random, prompt: str, ctx: dict[str, Any]) -> dict[str, Any]:
        draft = ctx["draft"]
        cited = set(draft.get("citations", []))
        score = rng.randint(6, 10) if cited else 2
        return {"approved": bool(cited), "score": score, "notes": f"{len(cited)} sources cited"}


def _flatten(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [x for item in v.values() for x in _flatten(item)]
    if isinstance(v, list):
        return [x for item in v for x in _flatten(item)]
    return [v]
