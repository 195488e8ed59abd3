"""Grounding: every claim in a brief is supported by a research source.

Deterministic: a paragraph is a claim followed by its citations
(``... [src-1].`` or ``[src-1, src-2]``). Each cited id must resolve to a
source of the same task; every number in the claim must appear in a cited
source (its text or its value); and at least ``min_overlap`` of the claim's
content words must occur in the cited sources' text.
"""

from __future__ import annotations

import re
from typing import Any

from harness.audit.auditors.base import OutputAuditor, content_words, numbers, same_number
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, Source, World

_CITATION = re.compile(r"\[([^\[\]]+)\]")


def split_claim(paragraph: str) -> tuple[str, list[str]]:
    """A paragraph's claim text and the source ids it cites."""
    ids = [s.strip() for m in _CITATION.finditer(paragraph) for s in m.group(1).split(",") if s.strip()]
    claim = _CITATION.sub(" ", paragraph).strip().rstrip(".").strip()
    return claim, ids


class GroundingAuditor(OutputAuditor):
    """Checks writers' briefs (``paragraphs`` and ``citations``) against research sources."""

    name = "grounding"

    def __init__(self, capabilities: tuple[str, ...] = ("write",), min_overlap: float = 0.6) -> None:
        self.capabilities = capabilities
        self.min_overlap = min_overlap

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.status != "ok" or out.capability not in self.capabilities or not isinstance(out.output, dict):
            return []
        sources = world.sources_for(out)
        found: list[Finding] = []
        paragraphs = out.output.get("paragraphs")
        cited_in_text: set[str] = set()
        for i, para in enumerate(paragraphs if isinstance(paragraphs, list) else []):
            if not isinstance(para, str):
                continue
            claim, ids = split_claim(para)
            cited_in_text.update(ids)
            found.extend(self._paragraph(out, i, claim, ids, sources))
        citations = out.output.get("citations")
        for sid in citations if isinstance(citations, list) else []:
            if isinstance(sid, str) and sid not in sources:
                found.append(
                    self.finding(
                        out,
                        "unresolved_citation",
                        f"citation {sid!r} does not resolve to a source of task {out.task_id}",
                        source_id=sid,
                    )
                )
        listed = {c for c in citations if isinstance(c, str)} if isinstance(citations, list) else set()
        missing = sorted(cited_in_text - listed)
        if missing:
            found.append(
                self.finding(
                    out,
                    "citation_not_listed",
                    f"cited in the text but missing from citations: {', '.join(missing)}",
                    "warning",
                    source_ids=missing,
                )
            )
        return found

    def _paragraph(
        self, out: AgentOutput, i: int, claim: str, ids: list[str], sources: dict[str, list[Source]]
    ) -> list[Finding]:
        if not claim:
            return []
        if not ids:
            return [
                self.finding(
                    out,
                    "uncited_claim",
                    f"paragraph {i} makes a claim with no citation",
                    paragraph=i,
                    claim=claim,
                )
            ]
        unresolved = [s for s in ids if s not in sources]
        found = [
            self.finding(
                out,
                "unresolved_citation",
                f"paragraph {i} cites {sid!r}, which is not a source of task {out.task_id}",
                paragraph=i,
                source_id=sid,
            )
            for sid in unresolved
        ]
        cited = [src for s in ids if s in sources for src in sources[s]]
        if not cited:
            return found
        problems = self._support(claim, cited)
        if problems:
            found.append(
                self.finding(
                    out,
                    "ungrounded_claim",
                    f"paragraph {i} is not supported by {', '.join(ids)}: {'; '.join(problems)}",
                    paragraph=i,
                    claim=claim,
                    source_ids=ids,
                    problems=problems,
                    source_ops=sorted({s.op for s in cited if s.op is not None}),
                )
            )
        return found

    def _support(self, claim: str, cited: list[Source]) -> list[str]:
        problems: list[str] = []
        known: list[float] = [n for s in cited for n in numbers(s.text)]
        known += [s.value for s in cited if s.value is not None]
        stray = [n for n in numbers(claim) if not any(same_number(n, k) for k in known)]
        if stray:
            problems.append("numbers not in the sources: " + ", ".join(_fmt(n) for n in stray))
        words = content_words(claim)
        if words:
            source_words: set[str] = set().union(*(content_words(s.text) for s in cited))
            overlap = len(words & source_words) / len(words)
            if overlap < self.min_overlap:
                problems.append(f"only {overlap:.0%} of its words occur in the sources")
        return problems


def _fmt(n: Any) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)
