"""What must hold after a simulated run: the history checkers, and three
properties of the run itself, each a :class:`~harness.checkers.Verdict` with
witnessing operations.

- ``liveness``: every submitted request reached a declared terminal state;
- ``stages``: a task's next stage starts only once every subtask of the
  previous stage is done (and the task is done only after its last stage);
- ``crashes``: no agent died of an exception it did not handle;
- ``retries``: every delivery of a message is explained by a send, the
  queue's redrive policy or an injected duplicate: a message that keeps
  failing is dead-lettered, not retried for ever.

Each takes its settings from the system's declarations (``specs``, as
:meth:`harness.system.Declarations.checker_specs` makes them): without the
ones it needs it judges nothing and says so in its statistics (``skipped``);
it never applies another system's stage names, message ids or states.

``liveness`` needs the final task states and ``retries`` a finished run; the
other two read the history only, so they can be checked after every step of
a run as well as at its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from harness.checkers.verdict import Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, OK, Op

#: History checkers run by default: those a correct system passes under any
#: fault plan, and the verification agents' findings (its outputs audited).
DEFAULT_CHECKERS: tuple[str, ...] = (
    "idempotency",
    "lost-update",
    "budget",
    "session",
    "ordering",
    "findings",
)

#: The run's own properties (see the module docstring).
RUN_PROPERTIES: tuple[str, ...] = ("liveness", "stages", "crashes", "retries")

#: The operation the simulator records when an agent's step raised an unexpected exception.
AGENT_CRASH = "agent.crash"

Spec = Mapping[str, Any]


def check_history(
    ops: Sequence[Op],
    checkers: Iterable[str] = DEFAULT_CHECKERS,
    *,
    specs: Mapping[str, Any] | None = None,
) -> list[Verdict]:
    """The named history checkers (``specs``: keyword arguments per checker,
    and the ``stages`` settings) plus ``stages`` and ``crashes``."""
    from harness.checkers import check

    specs = specs or {}
    names = list(checkers)
    verdicts = check(ops, names, specs=specs) if names else []
    return [*verdicts, check_stages(ops, spec=specs.get("stages")), check_crashes(ops)]


def check_run(
    ops: Sequence[Op],
    submitted: Iterable[str],
    states: Mapping[str, str],
    checkers: Iterable[str] = DEFAULT_CHECKERS,
    *,
    specs: Mapping[str, Any] | None = None,
    note: str = "",
) -> list[Verdict]:
    """Everything: the checkers, ``stages``, ``crashes``, ``liveness`` and
    ``retries`` (their settings: ``specs["stages"]``, ``specs["liveness"]``
    (or the top-level ``state_machine``'s terminal states) and ``specs["retries"]``)."""
    specs = specs or {}
    return [
        *check_history(ops, checkers, specs=specs),
        check_liveness(ops, submitted, states, terminal=_terminal(specs), note=note),
        check_retries(ops, spec=specs.get("retries")),
    ]


def _terminal(specs: Mapping[str, Any]) -> Iterable[str] | None:
    live = specs.get("liveness") or {}
    if live.get("terminal") is not None:
        return list(live["terminal"])
    sm = live.get("state_machine") or specs.get("state_machine")
    if sm is None:
        return None
    from harness.checkers.ordering import as_state_machine

    return sorted(as_state_machine(sm).terminal)


def failures(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The verdicts that are not valid (``unknown`` counts as passing)."""
    return [v for v in verdicts if v.valid is False]


def _skipped(name: str, why: str, **stats: Any) -> Verdict:
    return Verdict(name, True, (), {**stats, "skipped": why, "anomalies": {}})


# -- liveness -------------------------------------------------------------------------


def check_liveness(
    ops: Sequence[Op],
    submitted: Iterable[str],
    states: Mapping[str, str],
    *,
    terminal: Iterable[str] | None = None,
    note: str = "",
) -> Verdict:
    """Every request in ``submitted`` is in one of the declared ``terminal``
    states in ``states`` (read from the system at the end). With no terminal
    state declared the verdict is ``unknown`` and the statistics say why."""
    ids = list(submitted)
    ends = frozenset(terminal or ())
    if not ends:
        return Verdict(
            "liveness",
            "unknown",
            (),
            {"requests": len(ids), "skipped": "no terminal states declared", "anomalies": {}},
        )
    log = AnomalyLog()
    last: dict[str, int] = {}
    for op in ops:
        if op.f == "state.transition" and op.type == OK:
            last[str(op.key)] = op.index
    names = ", ".join(sorted(ends))
    for t in ids:
        state = states.get(t)
        if state in ends:
            continue
        where = f" ({note})" if note else ""
        log.add(
            Anomaly(
                kind="unfinished",
                ops=(last[t],) if t in last else (),
                message=f"request {t} never reached a terminal state ({names}): it is {state or 'not even stored'}{where}",
                key=t,
                details={"state": state},
            )
        )
    return log.verdict("liveness", {"requests": len(ids), "terminal_states": sorted(ends)})


# -- stages ---------------------------------------------------------------------------


class _Stages:
    """The stages settings: ``order``, ``pattern`` (groups ``task`` and
    ``stage``), ``done`` (the states that finish a subtask or task), ``table``
    (a glob of the tables subtasks are created in) and ``create`` (the
    operations that create them)."""

    def __init__(self, spec: Spec) -> None:
        order = spec.get("order")
        if not isinstance(order, list | tuple) or not order or not all(isinstance(s, str) for s in order):
            raise ValueError("stages 'order' must be a non-empty list of stage names")
        self.order: tuple[str, ...] = tuple(order)
        try:
            self.pattern = re.compile(str(spec.get("pattern", "")))
        except re.error as e:
            raise ValueError(f"stages 'pattern' is not a regular expression: {e}") from None
        if not {"task", "stage"} <= set(self.pattern.groupindex):
            raise ValueError("stages 'pattern' needs the named groups 'task' and 'stage'")
        done = spec.get("done", ())
        self.done = frozenset([done] if isinstance(done, str) else done)
        self.table = str(spec.get("table", "*"))
        self.create = frozenset(spec.get("create", ("dynamodb.PutItem",)))


def check_stages(ops: Iterable[Op], *, spec: Spec | None = None) -> Verdict:
    """A task's stage starts (its first subtask is created) only once every
    subtask of the previous stage created before then is done, and the task is
    done only once its last stage is. Needs ``spec`` (see :class:`_Stages`)
    with ``done`` states; without it nothing is judged (``skipped``)."""
    if spec is None:
        return _skipped("stages", "no stages declared")
    st = _Stages(spec)
    if not st.done:
        return _skipped("stages", "no done state declared for stages")
    created: dict[str, int] = {}  # subtask id -> index of its creation
    by_stage: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (task, stage) -> its subtasks
    done: dict[str, int] = {}  # subtask or task id -> index of its move to done
    unsure: dict[str, int] = {}  # subtask id -> first write of unknown outcome
    log = AnomalyLog()
    for op in ops:
        if op.f in st.create and op.type == OK:
            table, _, pk = str(op.key).partition("/")
            m = st.pattern.match(pk)
            if m and fnmatchcase(table, st.table) and pk not in created and m["stage"] in st.order:
                created[pk] = op.index
                subs = by_stage.setdefault((m["task"], m["stage"]), [])
                subs.append((pk, op.index))
                if len(subs) == 1 and m["stage"] != st.order[0]:
                    _check_stage(log, st, m["task"], m["stage"], op.index, by_stage, done, unsure)
        elif op.f == "dynamodb.UpdateItem" and op.type == INFO:
            unsure.setdefault(str(op.key).partition("/")[2], op.index)
        elif op.f == "state.transition" and op.type == OK:
            v = op.value if isinstance(op.value, dict) else {}
            if v.get("to") in st.done:
                key = str(op.key)
                done.setdefault(key, op.index)
                if st.pattern.match(key) is None:  # a whole task: after its last stage
                    _check_stage(log, st, key, None, op.index, by_stage, done, unsure)
    return log.verdict("stages", {"subtasks": len(created)})


def _check_stage(
    log: AnomalyLog,
    st: _Stages,
    task: str,
    stage: str | None,
    at: int,
    by_stage: Mapping[tuple[str, str], list[tuple[str, int]]],
    done: Mapping[str, int],
    unsure: Mapping[str, int],
) -> None:
    """Every subtask of ``task``'s stage before ``stage`` (None: the task is
    done, so its last stage) created before ``at`` was done before it."""
    prev = st.order[-1] if stage is None else st.order[st.order.index(stage) - 1]
    for sub, made in by_stage.get((task, prev), ()):
        if made > at:
            continue
        d = done.get(sub)
        if d is not None and d < at:
            continue
        if unsure.get(sub, at) < at:
            continue  # a write of unknown outcome may have finished it
        what = f"task {task} was marked done" if stage is None else f"task {task} started its {stage} stage"
        log.add(
            Anomaly(
                kind="stage_before_previous_done",
                ops=(made, at),
                message=f"{what} (op {at}) before {sub} (created at op {made}) was done",
                key=task,
                details={"stage": stage or "done", "pending": sub},
            )
        )


# -- crashes --------------------------------------------------------------------------


def check_crashes(ops: Iterable[Op]) -> Verdict:
    log = AnomalyLog()
    n = 0
    for op in ops:
        if op.f == AGENT_CRASH and op.type == INFO:
            n += 1
            err = op.value.get("error") if isinstance(op.value, dict) else op.value
            log.add(
                Anomaly(
                    kind="unhandled_exception",
                    ops=(op.index,),
                    message=f"{op.process} died of an unhandled exception: {err}",
                    key=op.key,
                )
            )
    return log.verdict("crashes", {"crashes": n})


# -- retries ---------------------------------------------------------------------------


class _Retries:
    """The retries settings: ``max_receives`` (deliveries of one message
    before its queue dead-letters it), ``messages`` (a glob of the logical
    message ids judged), ``senders`` (a glob of the processes whose sends
    count; ``*``: any) and ``exclude_queues`` (a glob of queues whose
    receives are not deliveries, e.g. dead-letter queues; default none)."""

    def __init__(self, spec: Spec) -> None:
        n = spec.get("max_receives")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError("retries 'max_receives' must be a positive integer")
        self.max_receives = n
        self.messages = str(spec.get("messages", "*"))
        self.senders = str(spec.get("senders", "*"))
        self.exclude = spec.get("exclude_queues")


def check_retries(
    ops: Iterable[Op],
    max_receives: int | None = None,
    *,
    messages: str | None = None,
    senders: str | None = None,
    exclude_queues: str | None = None,
    spec: Spec | None = None,
) -> Verdict:
    """Every delivery of a judged message is explained: by the counted sends
    of it (each SQS message is delivered at most ``max_receives`` times
    before the redrive policy dead-letters it) and by duplicates the fault
    plan injected. More deliveries mean the message is being retried outside
    the queue's dead-letter policy: for ever, if it always fails.

    Settings come from ``spec`` (see :class:`_Retries`) or the keyword
    arguments of the same names, which win; ``max_receives`` alone means every
    message, sent by anyone. Without ``max_receives`` nothing is judged
    (``skipped``)."""
    given = {
        "max_receives": max_receives,
        "messages": messages,
        "senders": senders,
        "exclude_queues": exclude_queues,
    }
    merged = {**(spec or {}), **{k: v for k, v in given.items() if v is not None}}
    if merged.get("max_receives") is None:
        return _skipped("retries", "no redrive policy (max_receives) declared")
    cfg = _Retries(merged)
    bound_of = cfg.max_receives
    delivered: dict[str, list[int]] = {}
    sends: dict[str, int] = {}
    dups: dict[str, int] = {}
    mid_of_sqs: dict[str, str] = {}
    dup_sqs_ids: list[str] = []
    for op in ops:
        v = op.value if isinstance(op.value, dict) else {}
        if op.f == "sqs.SendMessage" and op.type in (OK, INFO) and fnmatchcase(str(op.process), cfg.senders):
            mid = v.get("message_id")
            if isinstance(mid, str):
                sends[mid] = sends.get(mid, 0) + 1
        elif op.f == "fault.duplicate_delivery" and op.type == INFO:
            if isinstance(v.get("message_id"), str):
                dups[v["message_id"]] = dups.get(v["message_id"], 0) + 1
            elif isinstance(v.get("sqs_id"), str):
                dup_sqs_ids.append(v["sqs_id"])
        elif op.f == "sqs.ReceiveMessage" and op.type == OK:
            if cfg.exclude is not None and fnmatchcase(str(op.key), str(cfg.exclude)):
                continue
            for m in v.get("messages") or []:
                mid = m.get("message_id") if isinstance(m, dict) else None
                if isinstance(mid, str) and fnmatchcase(mid, cfg.messages):
                    delivered.setdefault(mid, []).append(op.index)
                    if isinstance(m.get("sqs_id"), str):
                        mid_of_sqs[m["sqs_id"]] = mid
    for sqs_id in dup_sqs_ids:
        mid = mid_of_sqs.get(sqs_id)
        if mid is not None:
            dups[mid] = dups.get(mid, 0) + 1
    log = AnomalyLog()
    for mid, idx in delivered.items():
        bound = bound_of * max(1, sends.get(mid, 0)) + dups.get(mid, 0)
        if len(idx) > bound:
            log.add(
                Anomaly(
                    kind="retried_without_end",
                    ops=(idx[0], idx[-1]),
                    message=(
                        f"{mid} was delivered {len(idx)} times, more than the {bound} its sends "
                        f"({sends.get(mid, 0)}), the redrive policy ({bound_of} deliveries each) and "
                        f"injected duplicates ({dups.get(mid, 0)}) explain: it is retried outside the "
                        "dead-letter policy"
                    ),
                    key=mid,
                    details={"deliveries": len(idx), "bound": bound},
                )
            )
    return log.verdict("retries", {"messages": len(delivered), "max_receives": bound_of})


def summary(verdicts: Iterable[Verdict]) -> dict[str, Any]:
    """``{checker: valid}`` (for logs and reports)."""
    return {v.checker: v.valid for v in verdicts}
