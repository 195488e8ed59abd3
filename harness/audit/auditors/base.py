"""The auditor protocol, and helpers the auditors share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
_WORD = re.compile(r"[a-z][a-z'-]+")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
        "shows",
        "show",
        "showed",
        "brief",
    ]
)


class Auditor(Protocol):
    """Reads outputs one at a time; ``finish`` reports what only the whole run shows."""

    name: str

    def audit(self, out: AgentOutput, world: World) -> list[Finding]: ...

    def finish(self, world: World) -> list[Finding]: ...


class OutputAuditor:
    """Base for auditors that judge each output on its own."""

    name = "auditor"

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        raise NotImplementedError

    def finish(self, world: World) -> list[Finding]:
        return []

    def finding(
        self, out: AgentOutput, kind: str, message: str, severity: str = "error", **details: Any
    ) -> Finding:
        return Finding(
            auditor=self.name,
            kind=kind,
            message=message,
            severity=severity,
            subject=out.subtask_id,
            task_id=out.task_id,
            witnesses=out.witnesses,
            details=details,
        )


def numbers(text: str) -> list[float]:
    """The numbers written in ``text`` (``1,200`` reads as 1200)."""
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)]


def content_words(text: str) -> set[str]:
    """Lower-case words of three letters or more, without stop words."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOPWORDS}


def same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def strings(obj: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside a JSON value, with its path (``paragraphs[2]``)."""
    if isinstance(obj, str):
        yield path or "$", obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from strings(v, f"{path}[{i}]")


__all__ = ["Auditor", "OutputAuditor", "content_words", "numbers", "same_number", "strings"]
