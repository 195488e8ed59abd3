"""Leakage: personal data and secrets in outputs (e-mail addresses, phone and
card numbers, AWS keys, provider API keys, tokens, private keys, passwords).
Findings show the match masked.

The rules are the redactor's (:mod:`harness.redaction.rules`): what the
recorder redacts is what the auditor flags. A redaction marker in an output
(``AKIA…[redacted:aws_access_key_id:…]``, an output read from a redacted
history) is flagged as the secret it replaced, of the kind it names.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.audit.auditors.base import OutputAuditor, strings
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World
from harness.redaction import RULES, SECRET_FIELD, Detector, Rule, default_redactor, field_name

#: A detector rule, by the auditor's older name.
Pattern = Rule

#: What counts as a leak (the redactor's secrets and personal data): a
#: regex's group ``secret`` if it has one, else its whole match.
PATTERNS: tuple[Rule, ...] = RULES


def mask(text: str) -> str:
    """``AKIAABCD...`` -> ``AKIA…(20 chars)``: enough to find it, not to use it."""
    return f"{text[:4]}…({len(text)} chars)"


def _last_field(path: str) -> str:
    """``output.items[2].password`` -> ``password``."""
    tail = path.rsplit(".", 1)[-1]
    return tail.split("[", 1)[0]


class LeakageAuditor(OutputAuditor):
    """Scans every string of an output (and a failure's reason) for leaks.

    ``patterns``: the rules (default: every built-in one, plus the patterns
    added in the redaction settings); ``fields``: field names whose non-empty
    string values are secrets whatever they look like (default: the
    redaction settings'); ``allow``: matched strings that are not leaks.
    """

    name = "leakage"

    def __init__(
        self,
        patterns: Iterable[Rule] | None = None,
        allow: tuple[str, ...] = (),
        *,
        fields: Iterable[str] | None = None,
    ) -> None:
        redactor = default_redactor()
        if patterns is None:
            extra = [r for r in redactor.rules if r not in RULES]
            patterns = (*PATTERNS, *extra)
        self.patterns = tuple(patterns)
        self.detector = Detector(self.patterns)
        self.fields = redactor.fields if fields is None else frozenset(field_name(f) for f in fields)
        self.allow = set(allow)
        self._severity = {p.kind: p.severity for p in reversed(self.patterns)}

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        found: list[Finding] = []
        targets = list(strings(out.output, "output"))
        if out.reason:
            targets.append(("reason", out.reason))
        seen: set[tuple[str, str]] = set()

        def add(kind: str, path: str, leaked: str, shown: str, severity: str) -> None:
            if leaked in self.allow or (kind, leaked) in seen:
                return
            seen.add((kind, leaked))
            found.append(
                self.finding(
                    out,
                    kind,
                    f"{kind.replace('_', ' ')} in {path}: {shown}",
                    severity,
                    path=path,
                    masked=shown,
                )
            )

        for path, text in targets:
            hits = self.detector.find(text)
            for h in hits:
                if h.is_marker:
                    add(
                        h.kind,
                        path,
                        h.text,
                        f"{h.text} (redacted when recorded)",
                        self._severity.get(h.kind, "error"),
                    )
                else:
                    add(h.kind, path, h.text, mask(h.text), h.rule.severity if h.rule else "error")
            if not hits and text and self.fields and field_name(_last_field(path)) in self.fields:
                add(SECRET_FIELD, path, text, mask(text), "error")
        return found
