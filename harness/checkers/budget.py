"""Budgets: each task's token spend stays within its budget.

Budgets come from ``budget.allocate`` (key = task id, value ``{"budget": n}``;
the latest allocation counts). Spend comes from ``model.complete`` (key =
subtask id; invoke value with ``task_id`` and, optionally, the subtask's own
``budget`` and ``max_tokens``; ok value with ``input_tokens`` and
``output_tokens``). Only recorded calls count: a model call made outside
``model.complete`` is invisible here (the reference system records every
one, the supervisor's planning call included). Checked:

- ``over_budget``: a task's spend in calls that completed ``ok`` exceeds its
  allocated budget, or a subtask's exceeds the budget its calls carried. A
  subtask's spend is summed over all its attempts (a redelivered subtask shares
  one budget) and counts whether the subtask then succeeded or failed;
- a call of unknown outcome (``info``, or never completed) may have spent
  tokens, or not: as Jepsen takes such operations, the budget holds if it
  holds with them spending nothing. When it may not hold with them, up to
  their ``max_tokens`` (or ``assume_unknown_tokens``) each, or with a call of
  no known bound, that is ``maybe_over_budget``: a warning, which with
  ``strict=True`` makes the verdict ``unknown``;
- ``no_budget`` (a warning): model calls for a task that never got a budget;
- what an output says it used: an ``agent.output`` (key = subtask id) whose
  ``tokens_used`` exceeds its ``budget`` is ``over_budget``; one whose
  ``tokens_used`` exceeds what the recorded model calls for its subtask
  spent is ``unrecorded_spend`` (a model call that went around the
  recording, so around the budget). ``outputs=()`` turns this off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, as_int, hashable, run_checker
from harness.checkers.verdict import WARNING, Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

NAME = "budget"


class _Spend:
    __slots__ = (
        "tokens",
        "calls",
        "unknown_calls",
        "unknown_bound",
        "crossing",
        "last",
        "budget",
        "budget_op",
    )

    def __init__(self) -> None:
        self.tokens = 0
        self.calls = 0
        self.unknown_calls = 0  # calls of unknown outcome with no max_tokens
        self.unknown_bound = 0  # tokens calls of unknown outcome may have spent, when bounded
        self.crossing: list[tuple[int, int]] = []  # (op index, running total) of each acknowledged call
        self.last = -1
        self.budget: int | None = None
        self.budget_op = -1


class BudgetChecker:
    """Streaming budget checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        model_calls: Iterable[str] = (c.MODEL_COMPLETE,),
        allocate: Iterable[str] = (c.BUDGET_ALLOCATE,),
        outputs: Iterable[str] = ("agent.output",),
        check_subtasks: bool = True,
        assume_unknown_tokens: int | None = None,
        strict: bool = False,
        max_anomalies: int = 1000,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        for f in model_calls:
            self._handlers[f] = self._on_model
        for f in allocate:
            self._handlers[f] = self._on_allocate
        for f in outputs:
            self._handlers[f] = self._on_output
        #: subtask -> (tokens an output said it used, its budget, the output's index), the largest claim
        self.claims: dict[Any, tuple[int, int | None, int]] = {}
        self.check_subtasks = check_subtasks
        self.assume_unknown_tokens = assume_unknown_tokens
        self.strict = strict
        self.log = AnomalyLog(max_anomalies)
        self.tasks: dict[Any, _Spend] = {}
        self.subtasks: dict[Any, _Spend] = {}

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    def _spend(self, table: dict[Any, _Spend], key: Any) -> _Spend:
        s = table.get(key)
        if s is None:
            s = table[key] = _Spend()
        return s

    def _on_allocate(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        b = as_int(as_dict(op.value).get(c.BUDGET))
        if b is None and inv is not None:
            b = as_int(as_dict(inv.value).get(c.BUDGET))
        if b is None:
            return
        s = self._spend(self.tasks, hashable(op.key))
        s.budget, s.budget_op = b, op.index

    def _on_output(self, op: Op, inv: Op | None) -> None:
        if op.type != OK:
            return
        v = as_dict(op.value)
        used = as_int(v.get("tokens_used"))
        if used is None or used <= 0:
            return
        key = hashable(op.key)
        prev = self.claims.get(key)
        if prev is None or used > prev[0]:
            self.claims[key] = (used, as_int(v.get(c.BUDGET)), op.index)

    def _judge_claims(self) -> None:
        for key, (used, budget, index) in self.claims.items():
            recorded = self.subtasks.get(key)
            spent = recorded.tokens + recorded.unknown_bound if recorded is not None else 0
            unbounded = recorded is not None and recorded.unknown_calls > 0
            if budget is not None and used > budget:
                self.log.add(
                    Anomaly(
                        kind="over_budget",
                        ops=(index,),
                        message=f"subtask {key!r}: its output says it used {used} tokens of a budget of {budget}",
                        key=key,
                        details={"level": "output", "spent": used, "budget": budget},
                    )
                )
            elif used > spent and not unbounded:
                self.log.add(
                    Anomaly(
                        kind="unrecorded_spend",
                        ops=(index,),
                        message=(
                            f"subtask {key!r}: its output says it used {used} tokens, its recorded model "
                            f"calls {spent}: a model call went around the recording and the budget"
                        ),
                        key=key,
                        details={"claimed": used, "recorded": spent},
                    )
                )

    def _on_model(self, op: Op, inv: Op | None) -> None:
        t = op.type
        if t == INVOKE:
            return
        iv = as_dict(inv.value) if inv is not None else {}
        task = iv.get(c.TASK_ID, as_dict(op.value).get(c.TASK_ID, op.key))
        targets = [self._spend(self.tasks, hashable(task))]
        if self.check_subtasks and op.key is not None and hashable(op.key) != hashable(task):
            sub = self._spend(self.subtasks, hashable(op.key))
            sb = as_int(iv.get(c.BUDGET))
            if sb is not None:
                sub.budget = sb if sub.budget is None else min(sub.budget, sb)
                if sub.budget_op < 0:
                    sub.budget_op = inv.index if inv is not None else op.index
            targets.append(sub)
        if t == OK:
            v = as_dict(op.value)
            tokens = (as_int(v.get(c.INPUT_TOKENS)) or 0) + (as_int(v.get(c.OUTPUT_TOKENS)) or 0)
            for s in targets:
                s.tokens += tokens
                s.calls += 1
                s.crossing.append((op.index, s.tokens))
                s.last = op.index
        elif t == INFO:
            bound = as_int(iv.get(c.MAX_TOKENS))
            if bound is None:
                bound = self.assume_unknown_tokens
            for s in targets:
                if bound is None:
                    s.unknown_calls += 1
                else:
                    s.unknown_bound += bound
                s.last = op.index

    def _judge(self, what: str, key: Any, s: _Spend) -> bool:
        """Add an anomaly if ``s`` is, or may be, over budget; True if that makes the verdict unknown."""
        if s.budget is None:
            return False
        if s.tokens > s.budget:
            crossing = next((i for i, total in s.crossing if total > s.budget), s.budget_op)
            self.log.add(
                Anomaly(
                    kind="over_budget",
                    ops=tuple(i for i in (s.budget_op, crossing) if i >= 0),
                    message=(
                        f"{what} {key!r} spent {s.tokens} tokens against a budget of {s.budget} "
                        f"(crossed at op {crossing})"
                    ),
                    key=key,
                    details={"level": what, "spent": s.tokens, "budget": s.budget},
                )
            )
            return False
        if s.unknown_calls or s.tokens + s.unknown_bound > s.budget:
            most = f"up to {s.tokens + s.unknown_bound}" if not s.unknown_calls else "an unknown number"
            self.log.add(
                Anomaly(
                    kind="maybe_over_budget",
                    ops=tuple(i for i in (s.budget_op, s.last) if i >= 0),
                    message=(
                        f"{what} {key!r} spent {s.tokens} of {s.budget} tokens in calls that completed, "
                        f"and {most} counting calls of unknown outcome"
                    ),
                    key=key,
                    severity=WARNING,
                    details={"level": what, "spent": s.tokens, "budget": s.budget},
                )
            )
            return self.strict
        return False

    def finish(self) -> Verdict:
        unknown = False
        for key, s in self.tasks.items():
            if s.budget is None and (s.calls or s.unknown_calls):
                self.log.add(
                    Anomaly(
                        kind="no_budget",
                        ops=(s.crossing[0][0],) if s.crossing else (),
                        message=f"task {key!r} made {s.calls} model call(s) without an allocated budget",
                        key=key,
                        severity=WARNING,
                    )
                )
            unknown |= self._judge("task", key, s)
        for key, s in self.subtasks.items():
            unknown |= self._judge("subtask", key, s)
        self._judge_claims()
        stats = {
            "tasks": len(self.tasks),
            "subtasks": len(self.subtasks),
            "tokens": sum(s.tokens for s in self.tasks.values()),
            "model_calls": sum(s.calls for s in self.tasks.values()),
        }
        return self.log.verdict(NAME, stats, unknown=unknown)


def check_budget(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that each task's token spend stays within its budget."""
    return run_checker(history, BudgetChecker(**spec))


__all__ = ["NAME", "BudgetChecker", "check_budget"]
