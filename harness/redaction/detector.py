"""Finding secrets in a string: the matches of a table of rules, and the
redaction markers already there (a marker says "a secret of this kind was
here", so the leakage auditor flags a redacted history as it flags the raw one)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.redaction.rules import RULES, Rule

#: ``[redacted:aws_access_key_id:k3j5v7x2mq]``: what a redaction leaves.
MARKER = re.compile(r"\[redacted:(?P<kind>[A-Za-z0-9_.-]{1,64}):(?P<fingerprint>[a-z2-7]{10})\]")
_MARKER_HINT = "[redacted:"


@dataclass(frozen=True, slots=True)
class Hit:
    """One secret in a string: ``text[start:end]`` is what leaked; ``prefix``
    its public format marker (kept by a redaction). ``rule`` is None for a
    redaction marker found in the string."""

    kind: str
    start: int
    end: int
    text: str
    prefix: str = ""
    rule: Rule | None = None

    @property
    def is_marker(self) -> bool:
        return self.rule is None


class Detector:
    """Finds the secrets the rules describe. A string shorter than every rule's
    shortest match, or holding none of the hints of the rules that have them,
    is not searched: most recorded strings (ids, names) cost a few lookups."""

    def __init__(self, rules: Iterable[Rule] = RULES) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.min_len = min((r.min_len for r in self.rules), default=1 << 30)
        self._always = tuple(r for r in self.rules if not r.hints)
        self._hinted = tuple(r for r in self.rules if r.hints)
        self._hints = tuple(sorted({h for r in self._hinted for h in r.hints}))

    def _candidates(self, text: str) -> list[Rule]:
        if len(text) < self.min_len:
            return []
        low = text.lower()
        out = list(self._always)
        if self._hinted and any(h in low for h in self._hints):
            out += [r for r in self._hinted if len(text) >= r.min_len and any(h in low for h in r.hints)]
        return out

    def maybe(self, text: str) -> bool:
        """Whether ``text`` may hold a secret or a marker (the cheap pre-check)."""
        return _MARKER_HINT in text or bool(self._candidates(text))

    def markers(self, text: str) -> list[Hit]:
        if _MARKER_HINT not in text:
            return []
        return [Hit(m["kind"], m.start(), m.end(), m.group()) for m in MARKER.finditer(text)]

    def _matches(self, text: str, rules: list[Rule]) -> list[Hit]:
        hits: list[Hit] = []
        for r in rules:
            has_secret = "secret" in r.regex.groupindex
            has_prefix = "prefix" in r.regex.groupindex
            for m in r.regex.finditer(text):
                g = "secret" if has_secret else 0
                start, end = m.span(g)
                if start == end:
                    continue
                leaked = m.group(g)
                if r.accept is not None and not r.accept(leaked):
                    continue
                prefix = ""
                if has_prefix and m.start("prefix") == start and m.end("prefix") < end:
                    prefix = m.group("prefix")
                hits.append(Hit(r.kind, start, end, leaked, prefix, r))
        return hits

    def find(self, text: str) -> list[Hit]:
        """Every rule's matches (two rules matching the same span: the first
        rule's), and every marker; a match inside a marker is not one."""
        rules = self._candidates(text)
        marks = self.markers(text)
        if not rules:
            return marks
        hits: list[Hit] = []
        spans: set[tuple[int, int]] = set()
        for h in self._matches(text, rules):
            if (h.start, h.end) in spans or _overlaps(h, marks):
                continue
            spans.add((h.start, h.end))
            hits.append(h)
        return marks + hits

    def spans(self, text: str) -> list[Hit]:
        """The matches a redaction replaces, in order and not overlapping: at
        each place the longest (the first rule's among equals); none inside a
        marker."""
        rules = self._candidates(text)
        if not rules:
            return []
        marks = self.markers(text)
        order = {id(r): i for i, r in enumerate(self.rules)}
        found = sorted(
            self._matches(text, rules), key=lambda h: (h.start, -h.end, order.get(id(h.rule), len(order)))
        )
        out: list[Hit] = []
        end = -1
        for h in found:
            if h.start < end or _overlaps(h, marks):
                continue
            out.append(h)
            end = h.end
        return out


def _overlaps(h: Hit, marks: list[Hit]) -> bool:
    return any(h.start < m.end and m.start < h.end for m in marks)


__all__ = ["MARKER", "Detector", "Hit"]
