"""Deliberately broken variants of the reference system's workers, worker loop
and supervisor: each one a bug that real agent systems ship.

Each plugs into the simulator by import path (the reference system's
options ``impls``, ``supervisor_class``, ``worker_loop_class``), the way a
user's own implementation does. The property suite must catch every
one of them, and pass the reference system.
"""

from __future__ import annotations

from typing import Any

from harness.system import SystemRef
from reference_system import bus
from reference_system.messages import SubtaskMessage
from reference_system.store import VersionedStore, to_av
from reference_system.supervisor import BUDGET_SHARES, Supervisor
from reference_system.worker_loop import WorkerLoop
from reference_system.workers import (
    PermanentFailure,
    ResearchWorker,
    WorkerContext,
    WriteWorker,
)

# -- 1. a non-idempotent effect -------------------------------------------------------


class FetchFirstResearch(ResearchWorker):
    """Fetches its sources (an external call) before asking the model, and
    without an idempotency key: an attempt that fails after the fetch is
    retried, and the retry fetches (and pays) again."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        subtopic = task.inputs.get("subtopic", task.topic)
        ctx.recorder.run("effect.fetch", task.subtask_id, lambda: None, value={"subtopic": subtopic})
        c = ctx.complete(
            "research",
            f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        return {"facts": list(c.output["facts"])}


# -- 2. deleting the message before processing it ---------------------------------------


class AckFirstLoop(WorkerLoop):
    """Deletes each message as soon as it arrives, "so that slow work is not
    redelivered": an attempt that then fails loses the subtask for good."""

    def _process(self, task: SubtaskMessage, raw: dict[str, Any]) -> None:
        bus.delete(self.sqs, self.queue_url, raw)
        super()._process(task, raw)


# -- 3. read-modify-write without a condition -------------------------------------------


class BlindStore(VersionedStore):
    """Writes what it computed from its last read, without checking that the
    item is still at the version it read."""

    def write(
        self,
        pk: str,
        expected_version: int,
        sets: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> int:
        names = {f"#a{i}": k for i, k in enumerate(sets)}
        vals: dict[str, Any] = {f":a{i}": v for i, v in enumerate(sets.values())}
        vals[":version"] = expected_version + 1
        assignments = [f"#a{i} = :a{i}" for i in range(len(sets))] + ["version = :version"]
        kw: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        self._ddb.update_item(
            TableName=self.table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET " + ", ".join(assignments),
            ExpressionAttributeValues=to_av(vals),
            **kw,
        )
        return expected_version + 1


class BlindWriteSupervisor(Supervisor):
    """Updates task items from its cached copy with unconditional writes: with
    a second supervisor replica writing the same items, updates are lost."""

    def __init__(self, session: Any, resources: Any, model: Any, **kw: Any) -> None:
        super().__init__(session, resources, model, **kw)
        self.store = BlindStore(self.ddb, resources.tasks_table, self.effects, cache=True)


# -- 4. a consumer that assumes order on a standard queue --------------------------------


class InOrderSupervisor(Supervisor):
    """Moves a task to its next stage when the *last* subtask it dispatched
    reports done, assuming results arrive in the order the subtasks were sent
    (a standard queue promises no order)."""

    def _advance(self, task: dict[str, Any]) -> None:
        pks = task["subtasks"]
        last = self.store.get(pks[-1]) if pks else None
        if last is None or last["state"] != "done":
            return
        subs = [s for s in (self.store.get(pk) for pk in pks) if s is not None and s["state"] == "done"]
        budget = int(task["budget"])
        if task["stage"] == "research":
            facts = [f for s in subs for f in s["output"].get("facts", [])]
            self._next_stage(task, "write", int(budget * BUDGET_SHARES["write"]), {"facts": facts})
        elif task["stage"] == "write":
            self._next_stage(
                task, "review", int(budget * BUDGET_SHARES["review"]), {"draft": subs[0]["output"]}
            )
        else:
            self._store_brief(task, subs[0]["output"])
            self._move(task["pk"], task["pk"], "done")


# -- 5. trusting an eventually consistent read right after a write -----------------------


class EventualReadSupervisor(Supervisor):
    """Reads task items with eventually consistent reads (half the price) and
    no cache, and acts on what it reads right after writing it."""

    def __init__(self, session: Any, resources: Any, model: Any, **kw: Any) -> None:
        super().__init__(session, resources, model, **kw)
        self.store = VersionedStore(self.ddb, resources.tasks_table, self.effects, consistent=False)


# -- 6. overrunning the budget -------------------------------------------------------------


class FullBudgetWriter(WriteWorker):
    """Asks the model for a brief with the whole task's budget as its limit,
    not the share its subtask was given."""

    def handle(self, task: SubtaskMessage, ctx: WorkerContext) -> dict[str, Any]:
        facts = task.inputs.get("facts", [])
        if not facts:
            raise PermanentFailure("nothing to write about: no research facts")
        prompt = f"Write a brief on {task.topic} from {len(facts)} facts: " + " ".join(
            f["text"] for f in facts
        )
        limit = int(task.token_budget / BUDGET_SHARES["write"])  # the task's budget
        raw = ctx._model  # past the context's charged model: this mutant records its own call
        c = ctx.recorder.run(
            "model.complete",
            task.subtask_id,
            lambda: raw.complete("write", prompt, {"topic": task.topic, "facts": facts, "max_tokens": limit}),
            value={"task_id": task.task_id, "budget": ctx.budget, "max_tokens": limit, "kind": "write"},
            result=lambda c: {"input_tokens": c.input_tokens, "output_tokens": c.output_tokens},
        )
        ctx.tokens_used += c.total_tokens
        ctx.effects.perform("publish", task.task_id, value={"title": c.output["title"]})
        return dict(c.output)


# -- 7. a swallowed exception that leaves a task running forever -------------------------


class SwallowingLoop(WorkerLoop):
    """Catches every error while handling a message, logs it and acknowledges
    the message so that it cannot block the queue; but sends no result, so the
    subtask stays running and its task never finishes."""

    def _process(self, task: SubtaskMessage, raw: dict[str, Any]) -> None:
        self._progress(task, "started", bus.receive_count(raw))
        ctx = WorkerContext(self.agent, self.model, self.idem, self.effects, task, ledger=self.ledger)
        try:
            output = self.worker.handle(task, ctx)
        except Exception as e:
            self.effects.note(
                "worker.error", task.subtask_id, {"reason": str(e)}, failed=True, error="Swallowed"
            )
            bus.delete(self.sqs, self.queue_url, raw)
            return
        result = self._result(task, "ok", output, None, ctx.tokens_used)
        self.ledger.save_result(task.subtask_id, result.model_dump(mode="json"))
        bus.send(self.sqs, self.res.queue("results"), result, f"result:{task.subtask_id}")
        bus.delete(self.sqs, self.queue_url, raw)


# -- 8. a poison message retried forever with no dead-letter queue ----------------------


class RequeueLoop(WorkerLoop):
    """Retries a failed message by sending it back to its own queue and
    deleting the original ("keep the queue moving"): its receive count starts
    again at one every time, so the redrive policy never dead-letters it and a
    message that always fails is retried forever."""

    def _process(self, task: SubtaskMessage, raw: dict[str, Any]) -> None:
        handled = self.handled
        answered = self.ledger.result(task.subtask_id) is not None  # then the parent answers again
        super()._process(task, raw)
        if self.handled == handled and not answered:  # the attempt failed: to the back of the queue
            self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=raw["Body"], MessageAttributes=_attrs(raw)
            )
            bus.delete(self.sqs, self.queue_url, raw)


def _attrs(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"DataType": v.get("DataType", "String"), "StringValue": v["StringValue"]}
        for k, v in (raw.get("MessageAttributes") or {}).items()
        if "StringValue" in v
    }


#: name -> (what the mutant changes, System fields)
MUTANTS: dict[str, dict[str, Any]] = {
    "non-idempotent effect": {"workers": {"research": f"{__name__}:FetchFirstResearch"}},
    "delete before processing": {"worker_loop": f"{__name__}:AckFirstLoop"},
    "read-modify-write without a condition": {"supervisor": f"{__name__}:BlindWriteSupervisor"},
    "assumes order on a standard queue": {"supervisor": f"{__name__}:InOrderSupervisor"},
    "trusts an eventually consistent read": {"supervisor": f"{__name__}:EventualReadSupervisor"},
    "overruns the budget": {"workers": {"write": f"{__name__}:FullBudgetWriter"}},
    "swallowed exception, task running forever": {"worker_loop": f"{__name__}:SwallowingLoop"},
    "poison message retried forever, no DLQ": {"worker_loop": f"{__name__}:RequeueLoop"},
    # What the suite and the gate once missed in workers written by someone else.
    "an output that leaks a credential": {"workers": {"write": "tests.mutants.review_mutants:LeakyWriter"}},
    "cites a source research never returned": {
        "workers": {"write": "tests.mutants.review_mutants:InventedSourceWriter"}
    },
    "drops a required output field": {"workers": {"write": "tests.mutants.worker_mutants:TitlelessWriter"}},
    "a model client of its own, around the budget": {
        "workers": {"write": "tests.mutants.worker_mutants:OwnModelWriter"}
    },
    "an idempotency key that changes per delivery": {
        "workers": {"research": "tests.mutants.worker_mutants:ClockKeyResearch"}
    },
    "a reviewer that approves without looking": {
        "workers": {"review": "tests.mutants.review_mutants:AlwaysApproves"}
    },
}

#: Correct workers of someone else's: both the suite and the gate must pass them.
CORRECT_WORKERS: dict[str, dict[str, Any]] = {
    "calls ctx.model.complete directly": {
        "workers": {"write": "tests.mutants.worker_mutants:DirectModelWriter"}
    },
    "a stable idempotency key of its own spelling": {
        "workers": {"research": "tests.mutants.worker_mutants:OwnKeyResearch"}
    },
    "a heartbeat before slow work": {"workers": {"write": "tests.mutants.worker_mutants:HeartbeatWriter"}},
}


#: Mutants the gate catches and the suite cannot, each with the reason.
SUITE_BLIND: dict[str, str] = {
    "a reviewer that approves without looking": (
        "every draft the reference writer makes is good, so approving it is right on every run of the "
        "suite; the gate's golden review inputs include a bad draft (fixtures/golden/review/g5-uncited-draft)"
    ),
}

#: Worker mutants the suite catches and the gate cannot, each with the reason.
GATE_BLIND: dict[str, str] = {}


def subject(parts: dict[str, Any]) -> SystemRef:
    """The reference system with these parts replaced (``workers``:
    {capability: path}, ``supervisor``, ``worker_loop``), as its options."""
    from harness.sim.case import _legacy_options

    return SystemRef("", _legacy_options(parts))


__all__ = [
    "CORRECT_WORKERS",
    "GATE_BLIND",
    "SUITE_BLIND",
    "MUTANTS",
    "subject",
    "AckFirstLoop",
    "BlindWriteSupervisor",
    "EventualReadSupervisor",
    "FetchFirstResearch",
    "FullBudgetWriter",
    "InOrderSupervisor",
    "RequeueLoop",
    "SwallowingLoop",
]
