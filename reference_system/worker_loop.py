"""The worker loop: receive -> handle -> send result -> delete, one ``step()`` at a time."""

from __future__ import annotations

import contextlib
from typing import Any

from harness.instrument.context import CORRELATION_ATTR, correlation, operation
from harness.instrument.effects import Effects
from reference_system import bus
from reference_system.ledger import Ledger
from reference_system.llm import Model
from reference_system.messages import ProgressEvent, ResultMessage, SubtaskMessage
from reference_system.resources import Resources
from reference_system.workers import (
    BudgetExceeded,
    IdempotentEffects,
    PermanentFailure,
    Worker,
    WorkerContext,
)


class QueueConsumer:
    """What every loop serving one capability's queue with one :class:`Worker`
    is wired with: its clients, effects, idempotency table and queue."""

    def __init__(
        self,
        worker: Worker,
        session: Any,
        resources: Resources,
        model: Model,
        *,
        agent: str | None = None,
        wait_seconds: int = 0,
    ) -> None:
        from harness.history.recorder import Recorder

        self.worker = worker
        self.session = session
        self.capability = worker.capability
        self.agent = agent or getattr(session, "agent", f"{worker.capability}-worker")
        self.res = resources
        self.model = model
        self.wait_seconds = wait_seconds
        self.sqs = session.client("sqs")
        self.ddb = session.client("dynamodb")
        recorder = getattr(session, "recorder", None)
        self.effects = Effects(recorder if recorder is not None else Recorder(), self.agent)
        self.idem = IdempotentEffects(self.ddb, resources.idempotency_table, self.effects)
        self.queue_url = resources.queue(self.capability)
        self.handled = 0


class WorkerLoop(QueueConsumer):
    """Serves one capability's queue with one :class:`Worker`.

    Each ``step()`` handles at most one message and returns whether it did
    any work, so a runner (threads, processes, or a deterministic scheduler)
    decides when steps happen. A message is deleted only after its result is
    sent; a transient error leaves it to be redelivered (and, after
    ``MAX_RECEIVE_COUNT`` receives, dead-lettered).
    """

    def __init__(self, worker: Worker, session: Any, resources: Resources, model: Model, **kw: Any) -> None:
        super().__init__(worker, session, resources, model, **kw)
        self.ledger = Ledger(self.ddb, resources.idempotency_table)

    def step(self) -> bool:
        if self.ledger.owed:
            # A settle that failed holds tokens other attempts may need: pay it first.
            self.ledger.settle_owed()
        msgs = bus.receive(self.sqs, self.queue_url, 1, self.wait_seconds)
        if not msgs:
            return False
        raw = msgs[0]
        cid = bus.attr(raw, CORRELATION_ATTR)
        with correlation(cid):
            try:
                task = bus.parse(raw, SubtaskMessage)
            except bus.BadMessage as e:
                # Poison: leave it; the redrive policy moves it to the DLQ.
                self.effects.note("worker.reject", None, {"reason": str(e)}, failed=True, error="BadMessage")
                return True
            self._process(task, raw)
        return True

    def _process(self, task: SubtaskMessage, raw: dict[str, Any]) -> None:
        attempt = bus.receive_count(raw)
        done = self.ledger.result(task.subtask_id)
        if done is not None:
            # Already handled by an earlier delivery: answer again, do nothing again.
            bus.send(self.sqs, self.res.queue("results"), ResultMessage(**done), f"result:{task.subtask_id}")
            bus.delete(self.sqs, self.queue_url, raw)
            return
        self._progress(task, "started", attempt)
        extended: list[int] = []

        def heartbeat(seconds: int) -> None:
            extended.append(seconds)
            bus.extend(self.sqs, self.queue_url, raw, seconds)

        ctx = WorkerContext(
            self.agent,
            self.model,
            self.idem,
            self.effects,
            task,
            ledger=self.ledger,
            session=self.session,
            resources=self.res,
            heartbeat=heartbeat,
        )
        try:
            with operation(task.subtask_id, bus.delivery_id(raw)):
                output = self.worker.handle(task, ctx)
            result = self._result(task, "ok", output, None, ctx.tokens_used)
        except (BudgetExceeded, PermanentFailure) as e:
            result = self._result(task, "failed", {}, str(e), ctx.tokens_used)
        except Exception as e:  # transient: let the message be redelivered
            self.effects.note(
                "worker.error",
                task.subtask_id,
                {"reason": f"{type(e).__name__}: {e}"},
                failed=True,
                error=type(e).__name__,
            )
            if extended:  # the handler held it longer: hand it back now, not when its heartbeat runs out
                with contextlib.suppress(Exception):  # else it comes back when the heartbeat ends
                    bus.extend(self.sqs, self.queue_url, raw, 0)
            return
        # The output itself goes into the history, so auditors can read it afterwards.
        self.effects.note(
            "agent.output",
            task.subtask_id,
            {
                "task_id": task.task_id,
                "capability": self.capability,
                "status": result.status,
                "output": result.output,
                "reason": result.reason,
                "tokens_used": result.tokens_used,
                "budget": task.token_budget,
            },
        )
        self.ledger.save_result(task.subtask_id, result.model_dump(mode="json"))
        bus.send(self.sqs, self.res.queue("results"), result, f"result:{task.subtask_id}")
        self._progress(task, "finished", attempt)
        bus.delete(self.sqs, self.queue_url, raw)
        self.handled += 1

    def _result(
        self, task: SubtaskMessage, status: str, output: dict[str, Any], reason: str | None, tokens: int
    ) -> ResultMessage:
        return ResultMessage(
            task_id=task.task_id,
            subtask_id=task.subtask_id,
            capability=self.capability,
            agent=self.agent,
            status=status,  # type: ignore[arg-type]
            output=output,
            reason=reason,
            tokens_used=tokens,
        )

    def _progress(self, task: SubtaskMessage, event: str, attempt: int) -> None:
        ev = ProgressEvent(
            task_id=task.task_id, subtask_id=task.subtask_id, agent=self.agent, event=event, attempt=attempt
        )  # type: ignore[arg-type]
        mid = f"progress:{task.subtask_id}:{event}:{attempt}"
        bus.send(self.sqs, self.res.queue("progress"), ev, mid, group=task.task_id, dedup=mid)
