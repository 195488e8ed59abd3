"""What must hold after a simulated run: the history checkers, and three
properties of the run itself, each a :class:`~harness.checkers.Verdict` with
witnessing operations.

- ``liveness``: every submitted request reached a terminal state;
- ``stages``: a task's next stage starts only once every subtask of the
  previous stage is done (and the task is done only after its review);
- ``crashes``: no agent died of an exception it did not handle;
- ``retries``: every delivery of a subtask message is explained by a send,
  the queue's redrive policy or an injected duplicate: a message that keeps
  failing is dead-lettered, not retried for ever.

``liveness`` needs the final task states and ``retries`` a finished run; the
other two read the history only, so they can be checked after every step of
a run as well as at its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.checkers.verdict import Anomaly, AnomalyLog, Verdict
from harness.history.model import INFO, INVOKE, OK, Op

#: History checkers run by default: those a correct system passes under any fault plan.
DEFAULT_CHECKERS: tuple[str, ...] = ("idempotency", "lost-update", "budget", "session", "ordering")

#: The run's own properties (see the module docstring).
RUN_PROPERTIES: tuple[str, ...] = ("liveness", "stages", "crashes", "retries")

#: Deliveries of one message before its queue dead-letters it (the reference's redrive policy).
MAX_RECEIVES = 3

STAGE_ORDER: tuple[str, ...] = ("research", "write", "review")
TERMINAL = frozenset({"done", "failed"})
_SUB = re.compile(r"^(?P<task>.+)/(?P<cap>research|write|review)/(?P<n>\d+)$")

#: The operation the simulator records when an agent's step raised an unexpected exception.
AGENT_CRASH = "agent.crash"


def check_history(
    ops: Sequence[Op],
    checkers: Iterable[str] = DEFAULT_CHECKERS,
    *,
    specs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Verdict]:
    """The named history checkers (``specs``: keyword arguments per checker)
    plus ``stages`` and ``crashes``."""
    from harness.checkers import check

    names = list(checkers)
    verdicts = check(ops, names, specs={k: dict(v) for k, v in (specs or {}).items()}) if names else []
    return [*verdicts, check_stages(ops), check_crashes(ops)]


def check_run(
    ops: Sequence[Op],
    submitted: Iterable[str],
    states: Mapping[str, str],
    checkers: Iterable[str] = DEFAULT_CHECKERS,
    *,
    specs: Mapping[str, Mapping[str, Any]] | None = None,
    note: str = "",
) -> list[Verdict]:
    """Everything: the checkers, ``stages``, ``crashes``, ``liveness`` and ``retries``."""
    return [
        *check_history(ops, checkers, specs=specs),
        check_liveness(ops, submitted, states, note=note),
        check_retries(ops),
    ]


def failures(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The verdicts that are not valid (``unknown`` counts as passing)."""
    return [v for v in verdicts if v.valid is False]


# -- liveness -------------------------------------------------------------------------


def check_liveness(
    ops: Sequence[Op], submitted: Iterable[str], states: Mapping[str, str], *, note: str = ""
) -> Verdict:
    log = AnomalyLog()
    ids = list(submitted)
    last: dict[str, int] = {}
    for op in ops:
        if op.f == "state.transition" and op.type == OK:
            last[str(op.key).split("/", 1)[0]] = op.index
    for t in ids:
        state = states.get(t)
        if state in TERMINAL:
            continue
        where = f" ({note})" if note else ""
        log.add(
            Anomaly(
                kind="unfinished",
                ops=(last[t],) if t in last else (),
                message=f"request {t} never reached done or failed: it is {state or 'not even stored'}{where}",
                key=t,
                details={"state": state},
            )
        )
    return log.verdict("liveness", {"requests": len(ids)})


# -- stages ---------------------------------------------------------------------------


def check_stages(ops: Iterable[Op]) -> Verdict:
    created: dict[str, int] = {}  # subtask id -> index of its creation
    done: dict[str, int] = {}  # subtask or task id -> index of its move to done
    unsure: dict[str, int] = {}  # subtask id -> first write of unknown outcome
    log = AnomalyLog()
    for op in ops:
        if op.f == "dynamodb.PutItem" and op.type == OK:
            table, _, pk = str(op.key).partition("/")
            m = _SUB.match(pk)
            if m and table.endswith("-tasks") and pk not in created:
                created[pk] = op.index
                if m["cap"] != "research" and m["n"] == "0":
                    _check_stage(log, m["task"], m["cap"], op.index, created, done, unsure)
        elif op.f == "dynamodb.UpdateItem" and op.type == INFO:
            pk = str(op.key).partition("/")[2]
            unsure.setdefault(pk, op.index)
        elif op.f == "state.transition" and op.type == OK:
            v = op.value if isinstance(op.value, dict) else {}
            if v.get("to") == "done":
                key = str(op.key)
                done.setdefault(key, op.index)
                if _SUB.match(key) is None:  # a whole task: after its review
                    _check_stage(log, key, "done", op.index, created, done, unsure)
    return log.verdict("stages", {"subtasks": len(created)})


def _check_stage(
    log: AnomalyLog,
    task: str,
    stage: str,
    at: int,
    created: Mapping[str, int],
    done: Mapping[str, int],
    unsure: Mapping[str, int],
) -> None:
    prev = STAGE_ORDER[-1] if stage == "done" else STAGE_ORDER[STAGE_ORDER.index(stage) - 1]
    prefix = f"{task}/{prev}/"
    for sub, made in created.items():
        if not sub.startswith(prefix) or made > at:
            continue
        d = done.get(sub)
        if d is not None and d < at:
            continue
        if unsure.get(sub, at) < at:
            continue  # a write of unknown outcome may have finished it
        what = f"task {task} was marked done" if stage == "done" else f"task {task} started its {stage} stage"
        log.add(
            Anomaly(
                kind="stage_before_previous_done",
                ops=(made, at),
                message=f"{what} (op {at}) before {sub} (created at op {made}) was done",
                key=task,
                details={"stage": stage, "pending": sub},
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


def check_retries(ops: Iterable[Op], max_receives: int = MAX_RECEIVES) -> Verdict:
    """Every delivery of a subtask message to a worker is explained: by the
    supervisor's sends of it (each SQS message is delivered at most
    ``max_receives`` times before the redrive policy dead-letters it) and by
    duplicates the fault plan injected. More deliveries mean the message is
    being retried outside the queue's dead-letter policy: for ever, if it
    always fails."""
    delivered: dict[str, list[int]] = {}
    sends: dict[str, int] = {}
    dups: dict[str, int] = {}
    mid_of_sqs: dict[str, str] = {}
    dup_sqs_ids: list[str] = []
    for op in ops:
        v = op.value if isinstance(op.value, dict) else {}
        if op.f == "sqs.SendMessage" and op.type != INVOKE and str(op.process).startswith("supervisor"):
            mid = v.get("message_id")
            if isinstance(mid, str) and op.type in (OK, INFO):
                sends[mid] = sends.get(mid, 0) + 1
        elif op.f == "fault.duplicate_delivery" and op.type == INFO:
            if isinstance(v.get("message_id"), str):
                dups[v["message_id"]] = dups.get(v["message_id"], 0) + 1
            elif isinstance(v.get("sqs_id"), str):
                dup_sqs_ids.append(v["sqs_id"])
        elif op.f == "sqs.ReceiveMessage" and op.type == OK and not str(op.key).endswith("-dlq"):
            for m in v.get("messages") or []:
                mid = m.get("message_id") if isinstance(m, dict) else None
                if isinstance(mid, str) and mid.startswith("subtask:"):
                    delivered.setdefault(mid, []).append(op.index)
                    if isinstance(m.get("sqs_id"), str):
                        mid_of_sqs[m["sqs_id"]] = mid
    for sqs_id in dup_sqs_ids:
        mid = mid_of_sqs.get(sqs_id)
        if mid is not None:
            dups[mid] = dups.get(mid, 0) + 1
    log = AnomalyLog()
    for mid, idx in delivered.items():
        bound = max_receives * max(1, sends.get(mid, 0)) + dups.get(mid, 0)
        if len(idx) > bound:
            log.add(
                Anomaly(
                    kind="retried_without_end",
                    ops=(idx[0], idx[-1]),
                    message=(
                        f"{mid} was delivered {len(idx)} times, more than the {bound} its sends "
                        f"({sends.get(mid, 0)}), the redrive policy ({max_receives} deliveries each) and "
                        f"injected duplicates ({dups.get(mid, 0)}) explain: it is retried outside the "
                        "dead-letter policy"
                    ),
                    key=mid,
                    details={"deliveries": len(idx), "bound": bound},
                )
            )
    return log.verdict("retries", {"messages": len(delivered)})


def summary(verdicts: Iterable[Verdict]) -> dict[str, Any]:
    """``{checker: valid}`` (for logs and reports)."""
    return {v.checker: v.valid for v in verdicts}
