"""What the checkers must know about a system under test, declared by it.

A checker that lacks a declaration it needs skips that part and says so in
its statistics; it never falls back on another system's assumptions. The
declarations turn into per-checker keyword arguments with
:meth:`Declarations.checker_specs`, the same shape ``harness check --spec``
reads from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StateMachine:
    """A task's states: the allowed transitions, where a task starts and where it ends."""

    transitions: frozenset[tuple[str, str]]
    initial: str | None = None
    terminal: frozenset[str] = frozenset()
    #: Terminal states that count as a success (the rest are clean failures).
    success: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        transitions: Mapping[str, Iterable[str]],
        *,
        initial: str | None = None,
        terminal: Iterable[str] = (),
        success: Iterable[str] = (),
    ) -> StateMachine:
        """From ``{state: [next states]}``."""
        pairs = frozenset((a, b) for a, nexts in transitions.items() for b in nexts)
        return cls(pairs, initial, frozenset(terminal), frozenset(success))

    @property
    def states(self) -> frozenset[str]:
        out = {s for pair in self.transitions for s in pair} | set(self.terminal)
        if self.initial is not None:
            out.add(self.initial)
        return frozenset(out)

    def to_json(self) -> dict[str, Any]:
        nexts: dict[str, list[str]] = {}
        for a, b in sorted(self.transitions):
            nexts.setdefault(a, []).append(b)
        out: dict[str, Any] = {"transitions": nexts, "terminal": sorted(self.terminal)}
        if self.initial is not None:
            out["initial"] = self.initial
        if self.success:
            out["success"] = sorted(self.success)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StateMachine:
        """From :meth:`to_json`'s shape; a malformed one is a ValueError with one line."""
        if not isinstance(data, Mapping):
            raise ValueError("state machine must be an object with 'transitions'")
        tr = data.get("transitions")
        if isinstance(tr, Mapping):
            items = tr.items()
        elif isinstance(tr, list):  # [["a", "b"], ...]
            if not all(isinstance(p, list | tuple) and len(p) == 2 for p in tr):
                raise ValueError("state machine 'transitions' pairs must be [from, to]")
            items = [(str(a), [str(b)]) for a, b in tr]
        else:
            raise ValueError("state machine needs 'transitions': {state: [next states]}")
        for a, nexts in items:
            if not isinstance(nexts, list | tuple) or not all(isinstance(b, str) for b in nexts):
                raise ValueError(f"state machine: the next states of {a!r} must be a list of names")
        initial = data.get("initial")
        if initial is not None and not isinstance(initial, str):
            raise ValueError("state machine 'initial' must be a state name")
        for k in ("terminal", "success"):
            v = data.get(k, [])
            if not isinstance(v, list | tuple) or not all(isinstance(s, str) for s in v):
                raise ValueError(f"state machine {k!r} must be a list of state names")
        return cls.of(
            {str(a): list(n) for a, n in items},
            initial=initial,
            terminal=data.get("terminal", ()),
            success=data.get("success", ()),
        )


@dataclass(frozen=True)
class VersionedItems:
    """Items written with optimistic locking: a version attribute the writer
    checks (conditional PutItem or UpdateItem) and bumps."""

    #: Table name glob (``*-tasks``).
    table: str = "*"
    attribute: str = "version"
    #: The expression placeholder that carries the expected version.
    expected: str = ":expected_version"


@dataclass(frozen=True)
class Stages:
    """Stages every task passes in order; a subtask's id names its task and
    stage through ``pattern`` (a regular expression with groups ``task`` and
    ``stage``)."""

    order: tuple[str, ...]
    pattern: str
    #: States that finish a subtask (or task); empty: the state machine's
    #: ``success`` states.
    done: tuple[str, ...] = ()
    #: Glob of the tables subtasks are created in (their PutItem ``<table>/<id>``).
    table: str = "*"


@dataclass(frozen=True)
class Declarations:
    """Everything the checkers need to know about one system."""

    state_machine: StateMachine | None = None
    versioned: tuple[VersionedItems, ...] = ()
    #: Kinds of declared side effects (``effect.<kind>``), and those a
    #: logical operation may perform more than once.
    effects: tuple[str, ...] = ()
    repeatable_effects: tuple[str, ...] = ()
    #: FIFO queue name globs whose message groups must be processed in order.
    fifo_queues: tuple[str, ...] = ()
    #: SNS topic (or EventBridge bus) name -> the queues it feeds: names
    #: without the deploy prefix (``audit`` matches ``mas-audit``) or globs.
    fanout: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stages: Stages | None = None
    #: Deliveries of one message before its queue dead-letters it, and a glob
    #: of the logical message ids that bound applies to (None: not judged).
    max_receives: int | None = None
    retried_messages: str = "*"
    #: Glob of the processes whose sends of those messages count (``*``: any),
    #: and of the queues whose receives are not deliveries (dead-letter queues).
    retry_senders: str = "*"
    dead_letter_queues: str | None = None
    #: Extra keyword arguments per checker, merged over the derived ones.
    checkers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def checker_specs(self) -> dict[str, dict[str, Any]]:
        """Keyword arguments per checker name, derived from the declarations:
        exactly what :func:`harness.checkers.check` and
        :func:`harness.sim.checks.check_run` read. What is not declared is
        left out, and the checker concerned skips it and says so."""
        out: dict[str, dict[str, Any]] = {}
        sm = self.state_machine
        if sm is not None:
            ordering: dict[str, Any] = {"allowed": [list(p) for p in sorted(sm.transitions)]}
            if sm.initial is not None:
                ordering["initial_state"] = sm.initial
            out["ordering"] = ordering
            if sm.terminal:
                out["liveness"] = {"terminal": sorted(sm.terminal)}
        if self.fifo_queues:
            # the consumers record their applications (``message.apply``) there
            out.setdefault("ordering", {})["processed_queues"] = list(self.fifo_queues)
        if self.versioned:
            out["lost-update"] = {"tables": [v.table for v in self.versioned]}
        if self.repeatable_effects:
            out["idempotency"] = {"repeatable": list(self.repeatable_effects)}
        # The delivery checker's subscriptions are exact deployed names, the
        # declarations' names before the deploy prefix: the queues a topic or
        # bus feeds are given as globs, and their arrivals need no recorded send.
        fed = sorted({_glob(q) for qs in self.fanout.values() for q in qs})
        if fed:
            out["delivery"] = {"fed_queues": fed}
        st = self.stages
        if st is not None:
            done = st.done or (tuple(sorted(sm.success)) if sm is not None else ())
            stages: dict[str, Any] = {"order": list(st.order), "pattern": st.pattern, "table": st.table}
            if done:
                stages["done"] = list(done)
            out["stages"] = stages
        if self.max_receives is not None:
            retries: dict[str, Any] = {
                "max_receives": self.max_receives,
                "messages": self.retried_messages,
                "senders": self.retry_senders,
            }
            if self.dead_letter_queues is not None:
                retries["exclude_queues"] = self.dead_letter_queues
            out["retries"] = retries
        for name, kw in self.checkers.items():
            out.setdefault(name, {}).update(kw)
        return out


def _glob(queue: str) -> str:
    """A queue name as the glob of its deployed names (any prefix before it)."""
    return queue if any(c in queue for c in "*?[") else f"*{queue}"
