"""The worker loop for the Step Functions orchestration: receive a subtask
with its task token, heartbeat, handle it with an ordinary :class:`Worker`,
answer SendTaskSuccess or SendTaskFailure, delete the message."""

from __future__ import annotations

import json
from typing import Any

from harness.instrument.context import CORRELATION_ATTR, correlation
from reference_system import bus
from reference_system.llm import Model
from reference_system.messages import SubtaskMessage
from reference_system.resources import Resources
from reference_system.sfn.definition import BUDGET, PERMANENT, TRANSIENT
from reference_system.worker_loop import QueueConsumer
from reference_system.workers import (
    BudgetExceeded,
    PermanentFailure,
    Worker,
    WorkerContext,
)

#: Answers to a token the state machine no longer waits for (it timed out and
#: was retried with a new one, or the execution ended).
_STALE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def parse_task(raw: dict[str, Any]) -> tuple[str | None, SubtaskMessage]:
    """The task token and the subtask (with the state machine's inputs merged in).

    Raises :class:`bus.BadMessage`; the token is returned when it could be read
    even if the subtask could not, so the worker can still answer.
    """
    try:
        body = json.loads(raw["Body"])
    except (ValueError, KeyError):
        raise bus.BadMessage("task message body is not JSON") from None
    token = body.get("task_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not isinstance(body.get("subtask"), dict):
        raise bus.BadMessage("task message lacks task_token or subtask")
    sub = dict(body["subtask"])
    sub["inputs"] = {**(sub.get("inputs") or {}), **(body.get("inputs") or {})}
    try:
        return token, SubtaskMessage.model_validate(sub)
    except ValueError as e:
        raise _BadSubtask(token, f"invalid subtask message: {e}") from None


class _BadSubtask(bus.BadMessage):
    def __init__(self, token: str, reason: str) -> None:
        super().__init__(reason)
        self.token = token


class SfnWorkerLoop(QueueConsumer):
    """Serves one capability's queue for the state machine, one ``step()`` at a time.

    Retries belong to the state machine: every message is deleted once
    answered, a transient error is answered ``Worker.Transient`` (the state
    machine sends the subtask again with a new token), and a worker that dies
    before answering is found out by the heartbeat timeout. Effects go through
    the idempotency table, so a retried subtask never repeats one.
    """

    def __init__(self, worker: Worker, session: Any, resources: Resources, model: Model, **kw: Any) -> None:
        super().__init__(worker, session, resources, model, **kw)
        self.sfn = session.client("stepfunctions")
        self.stale = 0

    def step(self) -> bool:
        msgs = bus.receive(self.sqs, self.queue_url, 1, self.wait_seconds)
        if not msgs:
            return False
        raw = msgs[0]
        with correlation(bus.attr(raw, CORRELATION_ATTR)):
            try:
                token, task = parse_task(raw)
            except bus.BadMessage as e:
                self.effects.note("worker.reject", None, {"reason": str(e)}, failed=True, error="BadMessage")
                if isinstance(e, _BadSubtask):
                    self._answer(e.token, None, failure=(PERMANENT, str(e)))
                bus.delete(self.sqs, self.queue_url, raw)
                return True
            self._process(token, task, raw)  # type: ignore[arg-type]
        return True

    def _process(self, token: str, task: SubtaskMessage, raw: dict[str, Any]) -> None:
        if not self._heartbeat(token, task):
            bus.delete(self.sqs, self.queue_url, raw)  # nobody waits for this copy any more
            return
        ctx = WorkerContext(self.agent, self.model, self.idem, self.effects, task)
        failure: tuple[str, str] | None = None
        output: dict[str, Any] = {}
        try:
            output = self.worker.handle(task, ctx)
        except BudgetExceeded as e:
            failure = (BUDGET, str(e))
        except PermanentFailure as e:
            failure = (PERMANENT, str(e))
        except Exception as e:  # transient: the state machine retries it
            reason = f"{type(e).__name__}: {e}"
            self.effects.note(
                "worker.error", task.subtask_id, {"reason": reason}, failed=True, error=type(e).__name__
            )
            failure = (TRANSIENT, reason)
        if failure is None or failure[0] != TRANSIENT:
            self.effects.note(
                "agent.output",
                task.subtask_id,
                {
                    "task_id": task.task_id,
                    "capability": self.capability,
                    "status": "ok" if failure is None else "failed",
                    "output": output,
                    "reason": None if failure is None else failure[1],
                    "tokens_used": ctx.tokens_used,
                    "budget": task.token_budget,
                },
            )
        self._answer(token, task, output, ctx.tokens_used, failure=failure)
        bus.delete(self.sqs, self.queue_url, raw)
        self.handled += 1

    def _heartbeat(self, token: str, task: SubtaskMessage) -> bool:
        """Tell the state machine the subtask is taken; False when its token is stale.

        A heartbeat is advisory: when it fails for another reason (moto can
        fail one with an internal error while another execution starts), the
        work goes on and the answer decides.
        """
        try:
            return self._call(self.sfn.send_task_heartbeat, task, taskToken=token)
        except Exception as e:
            self.effects.note(
                "worker.heartbeat_failed",
                task.subtask_id,
                {"reason": f"{type(e).__name__}: {e}"[:500]},
                failed=True,
                error=type(e).__name__,
            )
            return True

    def _answer(
        self,
        token: str,
        task: SubtaskMessage | None,
        output: dict[str, Any] | None = None,
        tokens_used: int = 0,
        *,
        failure: tuple[str, str] | None = None,
    ) -> None:
        if failure is not None:
            error, cause = failure
            self._call(self.sfn.send_task_failure, task, taskToken=token, error=error, cause=cause[:32000])
            return
        result = {"status": "ok", "agent": self.agent, "output": output or {}, "tokens_used": tokens_used}
        self._call(self.sfn.send_task_success, task, taskToken=token, output=json.dumps(result))

    def _call(self, fn: Any, task: SubtaskMessage | None, **kw: Any) -> bool:
        """Call Step Functions; False when the token is stale (answered, timed out or gone)."""
        try:
            fn(**kw)
        except self.sfn.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code not in _STALE:
                raise
            self.stale += 1
            self.effects.note(
                "worker.stale_token",
                task.subtask_id if task else None,
                {"error": code},
                failed=True,
                error=code,
            )
            return False
        return True
