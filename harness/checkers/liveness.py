"""Liveness: every submitted task reaches a terminal state of the system's
declared state machine.

A task is submitted by an ``ok`` ``task.submit`` operation (key = task id),
which the runners record from the client process. Its state is followed from
the ``ok`` ``state.transition`` operations of its key (value ``{"from",
"to"}``) and, authoritatively, from a ``task.state`` operation (type
``info``, value ``{"state": s}``) that a runner records at the end of a run
with the state it read from the system. A submitted task whose last known
state is not terminal is ``unfinished`` (witnesses: its submission and its
last transition). A transition of unknown outcome into a terminal state after
the last known one leaves the task possibly finished: the verdict is then
``unknown`` rather than a violation.

The terminal states come from the declarations (``terminal``, or the
``state_machine``'s). With none declared nothing can be judged: the verdict
is ``unknown`` and the statistics say why. A history with no submitted task
is vacuously valid.

A submission of unknown outcome (``info``) is judged only if the system shows
the task exists (a transition or a final state of its key).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers import conventions as c
from harness.checkers.base import Handler, as_dict, hashable, run_checker
from harness.checkers.ordering import as_state_machine
from harness.checkers.verdict import Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, OK, Op

NAME = "liveness"


class _Task:
    __slots__ = ("submit", "unsure", "state", "last", "final", "maybe_done")

    def __init__(self) -> None:
        self.submit = -1  # index of the acknowledged submission
        self.unsure = -1  # index of a submission of unknown outcome
        self.state: Any = None  # last state from an acknowledged transition
        self.last = -1  # index of that transition
        self.final = -1  # index of the task.state read at the end, if any
        self.maybe_done = -1  # a later transition of unknown outcome into a terminal state


class LivenessChecker:
    """Streaming liveness checker (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        terminal: Iterable[str] | None = None,
        state_machine: Any = None,
        submit: Iterable[str] = (c.TASK_SUBMIT,),
        transition: Iterable[str] = (c.STATE_TRANSITION,),
        final_state: Iterable[str] = (c.TASK_STATE,),
        max_anomalies: int = 1000,
    ) -> None:
        if terminal is None and state_machine is not None:
            terminal = as_state_machine(state_machine).terminal
        if isinstance(terminal, str):
            raise ValueError("liveness 'terminal' must be a list of state names")
        self.terminal: frozenset[Any] = frozenset(hashable(s) for s in terminal or ())
        self._handlers: dict[str, Handler] = {}
        for f in submit:
            self._handlers[f] = self._on_submit
        for f in transition:
            self._handlers[f] = self._on_transition
        for f in final_state:
            self._handlers[f] = self._on_state
        self.log = AnomalyLog(max_anomalies)
        self.tasks: dict[Any, _Task] = {}

    def handler(self, f: str) -> Handler | None:
        return self._handlers.get(f)

    def _task(self, key: Any) -> _Task:
        k = hashable(key)
        t = self.tasks.get(k)
        if t is None:
            t = self.tasks[k] = _Task()
        return t

    def _on_submit(self, op: Op, inv: Op | None) -> None:
        if op.type == OK:
            t = self._task(op.key)
            if t.submit < 0:
                t.submit = op.index
        elif op.type == INFO:
            t = self._task(op.key)
            if t.unsure < 0:
                t.unsure = op.index

    def _on_transition(self, op: Op, inv: Op | None) -> None:
        if op.type != OK and op.type != INFO:
            return
        v = as_dict(op.value) or (as_dict(inv.value) if inv is not None else {})
        to = hashable(v.get(c.TO))
        if to is None:
            return
        t = self._task(op.key)
        if op.type == OK:
            t.state, t.last, t.maybe_done = to, op.index, -1
        elif to in self.terminal:
            t.maybe_done = op.index

    def _on_state(self, op: Op, inv: Op | None) -> None:
        if op.type != INFO and op.type != OK:
            return
        v = op.value
        state = v.get(c.STATE) if isinstance(v, dict) else v
        t = self._task(op.key)
        t.state, t.final, t.maybe_done = hashable(state), op.index, -1

    def finish(self) -> Verdict:
        submitted = {k: t for k, t in self.tasks.items() if t.submit >= 0 or (t.unsure >= 0 and _seen(t))}
        stats: dict[str, Any] = {"tasks": len(submitted), "terminal_states": sorted(map(str, self.terminal))}
        if not submitted:
            stats["skipped"] = "no task.submit operations: no task to judge"
            return self.log.verdict(NAME, stats)
        if not self.terminal:
            stats["skipped"] = "no terminal states declared: whether tasks finished cannot be judged"
            return self.log.verdict(NAME, stats, unknown=True)
        finished = possibly = 0
        for key, t in submitted.items():
            if t.state in self.terminal:
                finished += 1
                continue
            if t.maybe_done >= 0:
                possibly += 1
                continue
            sub = t.submit if t.submit >= 0 else t.unsure
            ops = tuple(
                sorted({sub, *((t.last,) if t.last >= 0 else ()), *((t.final,) if t.final >= 0 else ())})
            )
            where = "final state read from the system" if t.final >= 0 else "last recorded transition"
            state = "not even stored" if t.state is None else repr(t.state)
            ends = ", ".join(sorted(map(str, self.terminal)))
            self.log.add(
                Anomaly(
                    kind="unfinished",
                    ops=ops,
                    message=f"task {key!r} never reached a terminal state ({ends}): it is {state} ({where})",
                    key=key,
                    details={"state": t.state},
                )
            )
        stats.update(finished=finished, possibly_finished=possibly)
        return self.log.verdict(NAME, stats, unknown=possibly > 0)


def _seen(t: _Task) -> bool:
    return t.last >= 0 or t.final >= 0 or t.maybe_done >= 0


def check_liveness(history: Iterable[Op], **spec: Any) -> Verdict:
    """Check that every submitted task reached a declared terminal state."""
    return run_checker(history, LivenessChecker(**spec))


__all__ = ["NAME", "LivenessChecker", "check_liveness"]
