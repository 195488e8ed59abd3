"""The live audit: a listener on the reference system's audit queue.

The audit queue receives every status event fanned out from the status topic.
When a subtask reaches ``done``, :class:`LiveAudit` reads the subtask from the
task table (its output, token use, budget and inputs, with a consistent
read), runs the auditors on it and records the findings into the history
under the task's correlation id, while the run is still going.

What the live path sees is what the store shows: an output's inputs (so a
brief is grounded in the facts it was given) and the outputs audited before
it. Checks that need the whole history (repeated side effects, per-attempt
token counts) are left to the after-the-fact audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.audit.auditors import Auditor, default_auditors
from harness.audit.findings import Finding, record_finding
from harness.audit.world import AgentOutput, World
from harness.instrument.context import correlation
from harness.instrument.extract import deserialize


class LiveAudit:
    """Call with each status event (``task_id``, ``item_id``, ``to_state``);
    attach to an AuditLoop with :meth:`attach`."""

    def __init__(
        self,
        session: Any,
        tasks_table: str,
        *,
        auditors: Sequence[Auditor] | None = None,
        recorder: Any = None,
        agent: str = "auditor",
        world: World | None = None,
    ) -> None:
        self.ddb = session.client("dynamodb")
        self.table = tasks_table
        self.auditors = list(default_auditors() if auditors is None else auditors)
        self.recorder = recorder if recorder is not None else getattr(session, "recorder", None)
        self.agent = agent
        self.world = world if world is not None else World()
        self.findings: list[Finding] = []
        self.audited = 0
        self._seen: set[str] = set()

    def attach(self, audit_loop: Any) -> LiveAudit:
        audit_loop.listeners.append(self)
        return self

    def __call__(self, event: Any) -> None:
        item_id, task_id = getattr(event, "item_id", None), getattr(event, "task_id", None)
        if getattr(event, "to_state", None) != "done" or not item_id or item_id == task_id:
            return
        if item_id in self._seen:  # the fan-out delivers at least once
            return
        self._seen.add(item_id)
        task = self._get(task_id) or {}
        cid = task.get("correlation_id") or None
        with correlation(cid):
            try:
                found = self.audit_item(item_id)
            except Exception as e:  # an auditor's bug must not stall the audit queue
                found = [
                    Finding(
                        "live",
                        "audit_error",
                        f"auditing {item_id} failed: {type(e).__name__}: {e}",
                        "warning",
                        subject=item_id,
                        task_id=task_id,
                    )
                ]
            for fnd in found:
                self.findings.append(fnd)
                if self.recorder is not None:
                    record_finding(self.recorder, fnd, process=self.agent, correlation_id=cid)

    def audit_item(self, subtask_id: str) -> list[Finding]:
        """Audit the stored subtask ``subtask_id``; returns the findings."""
        item = self._get(subtask_id)
        if item is None or item.get("kind", "subtask") != "subtask":
            return []
        out = AgentOutput(
            subtask_id=subtask_id,
            task_id=item.get("task_id"),
            capability=item.get("capability"),
            output=item.get("output"),
            status="ok" if item.get("state") == "done" else str(item.get("state")),
            tokens_used=item.get("tokens") if isinstance(item.get("tokens"), int) else None,
            budget=item.get("budget") if isinstance(item.get("budget"), int) else None,
            inputs=item.get("inputs") if isinstance(item.get("inputs"), dict) else {},
        )
        found: list[Finding] = []
        for a in self.auditors:
            found.extend(a.audit(out, self.world))
        self.world.learn_output(out)
        self.audited += 1
        return found

    def _get(self, pk: str | None) -> dict[str, Any] | None:
        if not pk:
            return None
        r = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        return deserialize(r.get("Item"))


__all__ = ["LiveAudit"]
