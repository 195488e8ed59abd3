"""The supervisor: decomposes requests into subtasks by capability, dispatches
them, gathers results, and drives each task through research -> write ->
review to a stored brief. Every state change is a conditional write."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.instrument.context import CORRELATION_ATTR, MESSAGE_ID_ATTR, correlation
from harness.instrument.effects import Effects
from reference_system import bus
from reference_system.breaker import Breakers
from reference_system.budget import BudgetExceeded, complete_within
from reference_system.ledger import Ledger
from reference_system.llm import Model
from reference_system.messages import BriefRequest, ProgressEvent, ResultMessage, StatusEvent, SubtaskMessage
from reference_system.registry import NoAgentForCapability, Registry
from reference_system.resources import CAPABILITIES, Resources
from reference_system.states import TERMINAL
from reference_system.store import VersionedStore, to_av

#: Each stage's share of a task's token budget. The planning call is paid from
#: the research share; the research subtasks share what it leaves.
BUDGET_SHARES: dict[str, float] = {"research": 0.4, "write": 0.4, "review": 0.2}
#: The most a planning call may generate.
PLAN_TOKENS = 64
STAGES: tuple[str, ...] = ("research", "write", "review")


class Supervisor:
    def __init__(
        self,
        session: Any,
        resources: Resources,
        model: Model,
        *,
        agent: str = "supervisor",
        ids: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 10.0,
        wait_seconds: int = 0,
        sweep_interval: float = 30.0,
        dead_letter_interval: float = 2.0,
    ) -> None:
        from harness.history.recorder import Recorder

        self.agent = agent
        self.res = resources
        self.model = model
        self.wait_seconds = wait_seconds
        self._ids = ids or (lambda: uuid.uuid4().hex)
        self.sqs = session.client("sqs")
        self.sns = session.client("sns")
        self.ddb = session.client("dynamodb")
        recorder = getattr(session, "recorder", None)
        self.effects = Effects(recorder if recorder is not None else Recorder(), agent)
        self.store = VersionedStore(self.ddb, resources.tasks_table, self.effects, cache=True)
        # The only one planning: a hold it finds is a dead incarnation's (hold_seconds=0).
        self.ledger = Ledger(self.ddb, resources.idempotency_table, hold_seconds=0)
        self.registry = Registry(self.ddb, resources.registry_table)
        self.breakers = Breakers(breaker_threshold, breaker_cooldown, clock, on_change=self._breaker_changed)
        self._clock = clock
        self.sweep_interval = sweep_interval
        self._last_sweep = clock()
        # Dead letters are rare: the dead-letter queues are polled every
        # ``dead_letter_interval`` seconds, not on every turn of the loop.
        self.dead_letter_interval = dead_letter_interval
        self._next_dead_letters = clock()
        self._to_dispatch: deque[str] = deque()
        self._to_resume: deque[str] = deque()
        self.open_tasks: set[str] = set()
        self._correlation: dict[str, str] = {}
        self.steps = 0

    # -- requests ------------------------------------------------------------

    def submit(self, request: BriefRequest) -> str:
        """Accept a request; returns its task id (the request id: submitting twice is harmless)."""
        task_id = request.request_id
        cid = self._ids()
        with correlation(cid):
            created = self.store.create(
                task_id,
                {
                    "kind": "task",
                    "state": "pending",
                    "topic": request.topic,
                    "budget": request.token_budget,
                    "correlation_id": cid,
                    "stage": "research",
                    "subtasks": [],
                },
            )
        if not created:
            self._adopt(task_id)
            return task_id
        with correlation(cid):
            # Track it before anything else can fail: a failed status
            # publish must not lose a task that already exists.
            self._track(task_id, cid, self._to_dispatch)
            self.effects.note("budget.allocate", task_id, {"budget": request.token_budget})
            self._status(task_id, task_id, None, "pending")
        return task_id

    def _track(self, task_id: str, cid: str, queue: deque[str]) -> None:
        self._correlation[task_id] = cid
        self.open_tasks.add(task_id)
        queue.append(task_id)

    def _adopt(self, task_id: str) -> None:
        """A repeated submit of a task already stored. If this supervisor does
        not know it (an earlier submit stored it and never heard back: a lost
        acknowledgement), take it on as recovery would."""
        if task_id in self.open_tasks:
            return
        task = self.store.get(task_id, fresh=True)
        if task is None or task["state"] in TERMINAL:
            return
        cid = str(task.get("correlation_id") or "")
        with correlation(cid):
            if task["state"] == "pending":
                self._track(task_id, cid, self._to_dispatch)
                self.effects.note("budget.allocate", task_id, {"budget": int(task["budget"])})
                self._status(task_id, task_id, None, "pending")
            else:
                self._track(task_id, cid, self._to_resume)

    def recover(self) -> int:
        """Adopt every unfinished task found in the table (after a restart)."""
        kw: dict[str, Any] = {"TableName": self.res.tasks_table, "ConsistentRead": True}
        n = 0
        while True:
            page = self.ddb.scan(**kw)
            for raw in page.get("Items", []):
                item = {k: list(v.values())[0] for k, v in raw.items()}
                if item.get("kind") == "task" and item.get("state") not in TERMINAL:
                    tid = item["pk"]
                    self._correlation[tid] = item.get("correlation_id", "")
                    if tid not in self.open_tasks:
                        self.open_tasks.add(tid)
                        self._to_resume.append(tid)
                        n += 1
            if "LastEvaluatedKey" not in page:
                return n
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @property
    def finished(self) -> bool:
        return not self.open_tasks

    def next_wake(self) -> float | None:
        """When, on this supervisor's clock, it next has work of its own: at
        once while it holds tasks to dispatch or resume, else at its next
        sweep of open tasks; None when it knows of none (the driving hint of
        :class:`harness.system.Agent`)."""
        if self._to_dispatch or self._to_resume:
            return self._clock()
        if self.open_tasks:
            return self._last_sweep + self.sweep_interval
        return None

    # -- the loop ------------------------------------------------------------

    def step(self) -> bool:
        """One unit of supervision; returns whether there was anything to do."""
        self.steps += 1
        return (
            self._drain_progress()
            or self._drain_results()
            or self._dispatch_next()
            or (bool(self.open_tasks) and self._dead_letters_due() and self._drain_dead_letters())
            or self._sweep()
        )

    def _sweep(self) -> bool:
        """When idle, every ``sweep_interval`` seconds, look at every open task
        again from the table (anti-entropy): a step that failed half-way can
        leave a task whose next move no message will ever trigger."""
        now = self._clock()
        if not self.open_tasks or now - self._last_sweep < self.sweep_interval:
            return False
        self._last_sweep = now
        self._to_resume.extend(sorted(t for t in self.open_tasks if t not in self._to_resume))
        return False

    def _dead_letters_due(self) -> bool:
        now = self._clock()
        if now < self._next_dead_letters:
            return False
        self._next_dead_letters = now + self.dead_letter_interval
        return True

    def _drain_progress(self) -> bool:
        url = self.res.queue("progress")
        queue = url.rsplit("/", 1)[-1]  # the queue's name, as its SQS operations are recorded
        msgs = bus.receive(self.sqs, url, 10, 0)
        for raw in msgs:
            with correlation(bus.attr(raw, CORRELATION_ATTR)):
                try:
                    ev = bus.parse(raw, ProgressEvent)
                except bus.BadMessage:
                    ev = None  # dropped: processed, with no effect
                if ev is not None and ev.event == "started":
                    self._mark_running(ev.task_id, ev.subtask_id)
                # applied, in the FIFO group's order: the ordering checker judges it
                self.effects.note(
                    "message.apply",
                    queue,
                    {
                        "message_id": bus.attr(raw, MESSAGE_ID_ATTR),
                        "sqs_id": raw.get("MessageId"),
                        "group": (raw.get("Attributes") or {}).get("MessageGroupId"),
                    },
                )
                bus.delete(self.sqs, url, raw)
        return bool(msgs)

    def _drain_results(self) -> bool:
        msgs = bus.receive(
            self.sqs, self.res.queue("results"), 10, self.wait_seconds if not self._to_dispatch else 0
        )
        for raw in msgs:
            with correlation(bus.attr(raw, CORRELATION_ATTR)):
                try:
                    self._apply_result(bus.parse(raw, ResultMessage))
                except bus.BadMessage as e:
                    self.effects.note(
                        "supervisor.reject", None, {"reason": str(e)}, failed=True, error="BadMessage"
                    )
                bus.delete(self.sqs, self.res.queue("results"), raw)
        return bool(msgs)

    def _drain_dead_letters(self) -> bool:
        did = False
        for cap in CAPABILITIES:
            q = self.res.queue(f"{cap}-dlq")
            for raw in bus.receive(self.sqs, q, 10, 0):
                did = True
                with correlation(bus.attr(raw, CORRELATION_ATTR)):
                    # A dead letter is often malformed (that may be why it died):
                    # identify it leniently rather than validate it.
                    ids = bus.identify(raw, "task_id", "subtask_id")
                    if ids is None:
                        self.effects.note(
                            "supervisor.reject",
                            None,
                            {"reason": "unidentifiable dead letter"},
                            failed=True,
                            error="BadMessage",
                        )
                    else:
                        task_id, sub_id = ids
                        self.breakers[cap].failure()
                        if self.store.get(sub_id) is not None and self._move(
                            sub_id, task_id, "dead_lettered", reason="dead-lettered"
                        ):
                            self._fail_task(task_id, f"subtask {sub_id} was dead-lettered")
                    bus.delete(self.sqs, q, raw)
        if did:  # there may be more
            self._next_dead_letters = self._clock()
        return did

    def _dispatch_next(self) -> bool:
        # Take a task off its queue only once handled: if a step fails half-way
        # (throttled, partitioned) the task is tried again, never dropped.
        for queue, handle in ((self._to_resume, self._resume), (self._to_dispatch, self._dispatch_task)):
            if queue:
                task_id = queue[0]
                with correlation(self._correlation.get(task_id)):
                    handle(task_id)
                queue.popleft()
                return True
        return False

    # -- task logic ----------------------------------------------------------

    def _dispatch_task(self, task_id: str) -> None:
        task = self.store.get(task_id)
        if task is None or task["state"] != "pending":
            return
        planned = self._plan(task)
        if planned is None:
            return
        subtopics, research = planned
        share = research // len(subtopics)
        subs = [
            self._create_subtask(task, "research", i, share, {"subtopic": s}) for i, s in enumerate(subtopics)
        ]
        self.store.update(task_id, lambda _: {"subtasks": [s["pk"] for s in subs]})
        self._move(task_id, task_id, "dispatched")
        for sub in subs:
            if sub["state"] == "pending":
                self._send_subtask(task, sub)

    def _plan(self, task: dict[str, Any]) -> tuple[list[str], int] | None:
        """Plan a task's research: its subtopics, and what is left for them of
        the research share once the planning is paid (by every attempt at it:
        a restart may plan again). None: the plan did not fit, the task failed."""
        task_id = str(task["pk"])
        research = int(int(task["budget"]) * BUDGET_SHARES["research"])
        key = f"{task_id}/plan"
        try:
            c = complete_within(
                self.model,
                self.effects,
                self.ledger,
                key=key,
                task_id=task_id,
                budget=research,
                kind="plan",
                prompt=f"Plan research on {task['topic']}.",
                context={"topic": task["topic"]},
                max_tokens=PLAN_TOKENS,
            )
        except BudgetExceeded as e:
            self._fail_task(task_id, str(e))
            return None
        spent, held = self.ledger.spent(key)
        return list(c.output["subtopics"]), research - spent - held

    def _resume(self, task_id: str) -> None:
        """Pick up a task found unfinished after a restart: send what was never
        sent, and advance a stage whose subtasks are all done."""
        task = self.store.get(task_id, fresh=True)
        if task is None or task["state"] in TERMINAL:
            return
        if task["state"] == "pending":
            self._dispatch_task(task_id)
            return
        for pk in task.get("subtasks", []):
            sub = self.store.get(pk, fresh=True)
            if sub is not None and sub["state"] == "pending":
                self._send_subtask(task, sub)
        self._advance(task)

    def _create_subtask(
        self, task: dict[str, Any], cap: str, n: int, budget: int, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        sub_id = f"{task['pk']}/{cap}/{n}"
        attrs = {
            "kind": "subtask",
            "task_id": task["pk"],
            "capability": cap,
            "state": "pending",
            "budget": budget,
            "inputs": inputs,
        }
        if self.store.create(sub_id, attrs):
            return {**attrs, "pk": sub_id, "version": 1}
        existing = self.store.get(sub_id, fresh=True)  # made by an earlier, interrupted attempt
        return existing if existing is not None else {**attrs, "pk": sub_id}

    def _send_subtask(self, task: dict[str, Any], sub: dict[str, Any]) -> None:
        cap = sub["capability"]
        if not self.breakers[cap].allow():
            self._move(sub["pk"], task["pk"], "failed", reason=f"circuit open for {cap}")
            self._fail_task(task["pk"], f"circuit open for capability {cap}")
            return
        try:
            entry = self.registry.for_capability(cap)
        except NoAgentForCapability as e:
            self._move(sub["pk"], task["pk"], "failed", reason=str(e))
            self._fail_task(task["pk"], str(e))
            return
        msg = SubtaskMessage(
            task_id=task["pk"],
            subtask_id=sub["pk"],
            capability=cap,
            topic=task["topic"],
            token_budget=int(sub["budget"]),
            inputs=sub["inputs"],
        )
        # Send first, then record: a crash in between re-sends (at least once),
        # which the workers' idempotency keys absorb.
        bus.send(self.sqs, entry.queue, msg, f"subtask:{sub['pk']}")
        # Another supervisor may have sent it too, and its result moved it on.
        self._move(sub["pk"], task["pk"], "dispatched", allowed_from=frozenset({"pending"}))

    def _mark_running(self, task_id: str, sub_id: str) -> None:
        # A crash between sending a subtask and recording it leaves it pending.
        self._move(sub_id, task_id, "dispatched", allowed_from=frozenset({"pending"}))
        self._move(sub_id, task_id, "running", allowed_from=frozenset({"dispatched"}))
        self._move(task_id, task_id, "running", allowed_from=frozenset({"dispatched"}))

    def _apply_result(self, res: ResultMessage) -> None:
        sub = self.store.get(res.subtask_id)
        if sub is None:
            return  # a result for nothing we dispatched
        if sub["state"] in TERMINAL:
            # A repeated result. If an earlier attempt stopped half-way (a crash,
            # a throttled write), finish moving the task along; it is idempotent.
            task = self.store.get(res.task_id)
            if sub["state"] == "done" and task is not None and task["state"] not in TERMINAL:
                self._advance(task)
            return
        self._mark_running(res.task_id, res.subtask_id)
        breaker = self.breakers[res.capability]
        if res.status == "failed":
            breaker.failure()
            self._move(res.subtask_id, res.task_id, "failed", {"reason": res.reason or ""}, reason=res.reason)
            self._fail_task(res.task_id, f"{res.capability} failed: {res.reason}")
            return
        breaker.success()
        self._move(res.subtask_id, res.task_id, "done", {"output": res.output, "tokens": res.tokens_used})
        task = self.store.get(res.task_id)
        if task is None or task["state"] in TERMINAL:
            return
        self._advance(task)

    def _advance(self, task: dict[str, Any]) -> None:
        subs = [self.store.get(pk) for pk in task["subtasks"]]
        lost = [s for s in subs if s is not None and s["state"] in ("failed", "dead_lettered")]
        if lost:
            # An earlier step failed the subtask and stopped before failing
            # its task (a crash, a throttled write): finish that step now.
            self._fail_task(task["pk"], f"subtask {lost[0]['pk']} {lost[0]['state']}")
            return
        if not subs or any(s is None or s["state"] != "done" for s in subs):
            return
        stage = task["stage"]
        budget = int(task["budget"])
        if stage == "research":
            facts = [f for s in subs for f in s["output"].get("facts", [])]  # type: ignore[index]
            self._next_stage(task, "write", int(budget * BUDGET_SHARES["write"]), {"facts": facts})
        elif stage == "write":
            draft = subs[0]["output"]  # type: ignore[index]
            self._next_stage(task, "review", int(budget * BUDGET_SHARES["review"]), {"draft": draft})
        else:
            review = subs[0]["output"]  # type: ignore[index]
            self._store_brief(task, review)
            self._move(task["pk"], task["pk"], "done")

    def _next_stage(self, task: dict[str, Any], cap: str, budget: int, inputs: dict[str, Any]) -> None:
        sub = self._create_subtask(task, cap, 0, budget, inputs)
        self.store.update(task["pk"], lambda _: {"stage": cap, "subtasks": [sub["pk"]]})
        if sub["state"] == "pending":  # not sent by an earlier, interrupted attempt
            self._send_subtask(task, sub)

    def _store_brief(self, task: dict[str, Any], review: dict[str, Any]) -> None:
        item = {
            "pk": task["pk"],
            "topic": task["topic"],
            "brief": review.get("draft", {}),
            "approved": bool(review.get("approved")),
            "score": int(review.get("score", 0)),
        }
        with contextlib.suppress(self.ddb.exceptions.ConditionalCheckFailedException):
            self.ddb.put_item(
                TableName=self.res.briefs_table,
                Item=to_av(item),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def _fail_task(self, task_id: str, reason: str) -> None:
        self._move(task_id, task_id, "failed", {"reason": reason}, reason=reason)

    def _move(
        self,
        pk: str,
        task_id: str,
        to: str,
        extra: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
        allowed_from: frozenset[str] | None = None,
    ) -> bool:
        frm = self.store.transition(pk, to, extra, allowed_from)
        if frm is None:
            return False
        if pk == task_id or to in TERMINAL:
            self._status(task_id, pk, frm, to, reason)
        if pk == task_id and to in TERMINAL:
            self.open_tasks.discard(task_id)
        return True

    def _status(
        self, task_id: str, item_id: str, frm: str | None, to: str, reason: str | None = None
    ) -> None:
        ev = StatusEvent(task_id=task_id, item_id=item_id, from_state=frm, to_state=to, reason=reason)  # type: ignore[arg-type]
        bus.publish(self.sns, self.res.topic_arn, ev, f"status:{item_id}:{to}")

    def _breaker_changed(self, cap: str, old: str, new: str) -> None:
        self.effects.note("breaker.transition", cap, {"from": old, "to": new})
