"""The second orchestrator: each request becomes one Step Functions execution.

It shares the supervisor's bookkeeping (the tasks table with conditional state
transitions, status events on the topic, the briefs table), but the state
machine decides what runs when, waits for the workers' answers and retries.
The orchestrator plans a task, starts its execution (named after the task, so
starting twice is harmless), polls it and records the outcome.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any

from harness.instrument.context import correlation
from reference_system.messages import SubtaskMessage
from reference_system.sfn.definition import BUDGET, PERMANENT
from reference_system.states import TERMINAL
from reference_system.supervisor import BUDGET_SHARES, Supervisor

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def execution_name(task_id: str) -> str:
    """A valid, deterministic execution name for a task (1-80 of [A-Za-z0-9_-])."""
    return _NAME_UNSAFE.sub("-", task_id)[:80]


class SfnOrchestrator(Supervisor):
    """``submit``, ``step``, ``finished`` and ``open_tasks`` as the supervisor's,
    with the work carried by the state machine at ``state_machine_arn``."""

    def __init__(
        self,
        session: Any,
        resources: Any,
        model: Any,
        state_machine_arn: str,
        *,
        agent: str = "orchestrator",
        poll_interval: float = 0.1,
        **kw: Any,
    ) -> None:
        super().__init__(session, resources, model, agent=agent, **kw)
        self.sfn = session.client("stepfunctions")
        self.state_machine_arn = state_machine_arn
        self.poll_interval = poll_interval
        self._started: set[str] = set()
        self._next_poll = 0.0
        self.outcomes: dict[str, dict[str, Any]] = {}

    def execution_arn(self, task_id: str) -> str:
        base = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
        return f"{base}:{execution_name(task_id)}"

    # -- the loop ------------------------------------------------------------

    def step(self) -> bool:
        self.steps += 1
        return self._dispatch_next() or self._poll()

    def recover(self) -> int:
        n = super().recover()
        self._started |= {t for t in self.open_tasks if t not in self._to_dispatch}
        return n

    def _poll(self) -> bool:
        now = time.monotonic()
        if now < self._next_poll or not self._started:
            return False
        self._next_poll = now + self.poll_interval
        did = False
        for task_id in sorted(self._started):
            desc = self.sfn.describe_execution(executionArn=self.execution_arn(task_id))
            with correlation(self._correlation.get(task_id)):
                if desc["status"] == "RUNNING":
                    did = (
                        self._move(task_id, task_id, "running", allowed_from=frozenset({"dispatched"})) or did
                    )
                    continue
                self._finish(task_id, desc)
            did = True
        return did

    # -- starting ------------------------------------------------------------

    def _dispatch_task(self, task_id: str) -> None:
        task = self.store.get(task_id)
        if task is None or task["state"] != "pending":
            return
        planned = self._plan(task)
        if planned is None:
            return
        subtopics, research = planned
        budget = int(task["budget"])
        share = research // len(subtopics)
        research = [
            self._create_subtask(task, "research", i, share, {"subtopic": s}) for i, s in enumerate(subtopics)
        ]
        write = self._create_subtask(task, "write", 0, int(budget * BUDGET_SHARES["write"]), {})
        review = self._create_subtask(task, "review", 0, int(budget * BUDGET_SHARES["review"]), {})
        subs = [*research, write, review]
        self.store.update(task_id, lambda _: {"subtasks": [s["pk"] for s in subs]})
        cid = self._correlation.get(task_id, "")
        payload = {
            "task_id": task_id,
            "topic": task["topic"],
            "correlation_id": cid,
            "research": [self._item(task, s, cid) for s in research],
            "write": self._item(task, write, cid),
            "review": self._item(task, review, cid),
        }
        # Started already (before a restart)? Then adopt that execution.
        with contextlib.suppress(self.sfn.exceptions.ExecutionAlreadyExists):
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=execution_name(task_id),
                input=json.dumps(payload),
            )
        self._started.add(task_id)
        self._move(task_id, task_id, "dispatched")
        for s in research:
            self._move(s["pk"], task_id, "dispatched")

    def _item(self, task: dict[str, Any], sub: dict[str, Any], cid: str) -> dict[str, Any]:
        msg = SubtaskMessage(
            task_id=task["pk"],
            subtask_id=sub["pk"],
            capability=sub["capability"],
            topic=task["topic"],
            token_budget=int(sub["budget"]),
            inputs=sub["inputs"],
        )
        queue = self.registry.for_capability(sub["capability"]).queue
        return {"queue": queue, "subtask": msg.model_dump(mode="json"), "correlation_id": cid}

    # -- finishing -----------------------------------------------------------

    def _finish(self, task_id: str, desc: dict[str, Any]) -> None:
        self._started.discard(task_id)
        status = desc["status"]
        out: dict[str, Any] = json.loads(desc.get("output") or "{}") if status == "SUCCEEDED" else {}
        if status != "SUCCEEDED":
            out = {"status": "failed", "error": desc.get("error", status), "cause": desc.get("cause", "")}
        self.outcomes[task_id] = out
        task = self.store.get(task_id)
        if task is None or task["state"] in TERMINAL:
            self.open_tasks.discard(task_id)
            return
        self._move(task_id, task_id, "running", allowed_from=frozenset({"dispatched"}))
        subs = task.get("subtasks", [])
        if out.get("status") == "done":
            for pk in subs:
                self._settle(pk, task_id, "done")
            self._store_brief(task, out.get("review") or {})
            self._move(task_id, task_id, "done")
            return
        reason = _reason(out)
        for pk in subs:
            self._settle(pk, task_id, "failed", reason)
        self._fail_task(task_id, reason)

    def _settle(self, pk: str, task_id: str, to: str, reason: str | None = None) -> None:
        """Bring a subtask to ``to`` along the allowed path (the state machine ran it)."""
        sub = self.store.get(pk)
        if sub is None or sub["state"] in TERMINAL:
            return
        if to == "done":
            self._move(pk, task_id, "dispatched", allowed_from=frozenset({"pending"}))
            self._move(pk, task_id, "running", allowed_from=frozenset({"dispatched"}))
            self._move(pk, task_id, "done")
        else:
            self._move(pk, task_id, "failed", {"reason": reason or ""}, reason=reason)


#: What an error means, for when the cause did not come through (moto drops
#: the cause of SendTaskFailure).
_MEANING = {
    BUDGET: "token budget exceeded",
    PERMANENT: "the worker cannot do this subtask",
    "States.Timeout": "no worker answered in time",
    "States.HeartbeatTimeout": "no worker answered in time",
}


def _reason(out: dict[str, Any]) -> str:
    error = str(out.get("error") or "failed")
    cause = str(out.get("cause") or "") or _MEANING.get(error, "")
    return f"{error}: {cause}" if cause else error
