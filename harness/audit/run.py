"""Auditing after the fact: read a history, audit every output in it, and add
the findings to the history as operations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.audit.auditors import Auditor, default_auditors
from harness.audit.findings import FINDING, Finding
from harness.audit.world import AGENT_OUTPUT, AgentOutput, World
from harness.history.jsonl import dumps_op, iter_history
from harness.history.model import INVOKE, OK, Op


def audit_history(
    ops: Iterable[Op], auditors: Sequence[Auditor] | None = None, *, world: World | None = None
) -> list[Finding]:
    """Run ``auditors`` (default: every deterministic one) over each
    ``agent.output`` of a history, in order; returns their findings."""
    world = world if world is not None else World()
    auditors = default_auditors() if auditors is None else auditors
    found: list[Finding] = []
    for op in ops:
        world.observe(op)
        if op.f == AGENT_OUTPUT and op.type == OK:
            out = AgentOutput.from_op(op)
            for a in auditors:
                found.extend(a.audit(out, world))
            world.learn_output(out)
    for a in auditors:
        found.extend(a.finish(world))
    return found


def finding_ops(ops: Sequence[Op], findings: Iterable[Finding], *, process: str = "auditor") -> list[Op]:
    """The findings as operations that continue ``ops`` (indices after its
    last, at its last time), each with the correlation id of its first witness."""
    by_index = {op.index: op for op in ops}
    n = max((op.index for op in ops), default=-1) + 1
    t = max((op.time for op in ops), default=0)
    out: list[Op] = []
    for fnd in findings:
        witness = next((by_index[i] for i in fnd.witnesses if i in by_index), None)
        cid = witness.correlation_id if witness is not None else None
        value = fnd.to_value()
        for typ in (INVOKE, OK):
            out.append(Op(n, t, process, typ, FINDING, fnd.subject, value, cid, meta={"agent": process}))
            n += 1
    return out


def audit_file(path: str | Path, auditors: Sequence[Auditor] | None = None) -> list[Finding]:
    """Audit a JSONL history and append the findings to it; returns them.

    A history that already holds findings (a live audit ran) is audited again
    only by ``auditors`` given explicitly; by default it is left as it is.
    """
    ops = list(iter_history(path))
    if auditors is None and any(op.f == FINDING for op in ops):
        return []
    findings = audit_history(ops, auditors)
    new = finding_ops(ops, findings)
    with Path(path).open("ab") as fh:
        for op in new:
            fh.write(dumps_op(op))
    return findings


__all__ = ["audit_file", "audit_history", "finding_ops"]
