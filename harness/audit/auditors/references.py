"""References to agents or tools that do not exist.

An output names agents and tools in structured fields (``agent``,
``delegate_to``, ``tool``, ``tool_calls[].name``, ...) and agents in text as
``@name``. Each must be known: agents from the registry or the history, tools
from the declared side effects or configuration. The output's own capability
must be one the system has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.audit.auditors.base import OutputAuditor, strings
from harness.audit.findings import Finding
from harness.audit.world import AgentOutput, World

AGENT_FIELDS = frozenset(
    {"agent", "agents", "delegate_to", "handoff", "handoff_to", "next_agent", "assignee"}
)
TOOL_FIELDS = frozenset({"tool", "tools", "tool_name", "tool_calls", "function", "function_call", "tool_use"})
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z][\w-]*[\w])")


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k in ("name", "agent", "tool"):
            if isinstance(value.get(k), str):
                yield value[k]
                return
    elif isinstance(value, list):
        for v in value:
            yield from _names(v)


def references(obj: Any) -> Iterator[tuple[str, str]]:
    """(``agent`` | ``tool``, name) for every reference in a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in AGENT_FIELDS:
                yield from (("agent", n) for n in _names(v))
            elif k in TOOL_FIELDS:
                yield from (("tool", n) for n in _names(v))
            else:
                yield from references(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from references(v)


class ReferenceAuditor(OutputAuditor):
    name = "references"

    def __init__(self, mentions: bool = True) -> None:
        self.mentions = mentions

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        found: list[Finding] = []
        if out.capability is not None and out.capability not in world.capabilities:
            found.append(
                self.finding(out, "unknown_capability", f"capability {out.capability!r} does not exist")
            )
        refs = list(references(out.output))
        if self.mentions:
            refs += [
                ("agent", m.group(1)) for _, text in strings(out.output) for m in _MENTION.finditer(text)
            ]
        seen: set[tuple[str, str]] = set()
        for what, name in refs:
            if (what, name) in seen:
                continue
            seen.add((what, name))
            known = world.agents if what == "agent" else world.tools
            if name not in known:
                found.append(
                    self.finding(
                        out, f"unknown_{what}", f"refers to {what} {name!r}, which does not exist", name=name
                    )
                )
        return found
