"""The reference system as a :class:`harness.system.System`: the object every
runner of the harness uses when no other system is named. It is written
against the harness's public seam, like any user's system.

Options (``harness run --option``, the simulator's config, the pytest plugin):

- ``workers`` (1): worker agents per capability, named ``<capability>-<n>``;
- ``worker_processes`` (unset): instead, this many agents ``worker-<n>``,
  each serving capabilities as :func:`assign_capabilities` shares them out;
- ``supervisors`` (1): supervisor replicas (``supervisor``, ``supervisor-2``,
  ...); requests reach the first, which runs the intake;
- ``auditor`` (True): the consumer of the status topic's fan-out;
- ``impls``: ``{capability: "pkg.module:Class"}``, a Worker (or a WorkerLoop
  subclass) replacing the reference one;
- ``supervisor_class`` / ``worker_loop_class``: import paths of replacements
  with the same constructors;
- ``wait_seconds`` (0): long-poll seconds of a worker serving one queue;
- ``sweep_interval``, ``reads`` (``consistent`` | ``eventual``): the
  supervisor's anti-entropy period and how it reads its task table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.system import (
    AgentEnv,
    AgentSpec,
    Declarations,
    Stages,
    StateMachine,
    System,
    VersionedItems,
    WorkerKit,
    Workload,
    load_object,
    load_worker,
)
from reference_system.resources import CAPABILITIES, MAX_RECEIVE_COUNT, Resources, deploy, task_states

#: Where the package data is: the contracts and the golden inputs.
_HERE = Path(__file__).resolve().parent

STATE_MACHINE = StateMachine.of(
    {
        "pending": ["dispatched", "failed"],
        "dispatched": ["running", "failed", "dead_lettered"],
        "running": ["done", "failed", "dead_lettered"],
    },
    initial="pending",
    terminal=("done", "failed", "dead_lettered"),
    success=("done",),
)

DECLARATIONS = Declarations(
    state_machine=STATE_MACHINE,
    versioned=(VersionedItems(table="*-tasks", attribute="version", expected=":expected_version"),),
    effects=("fetch", "publish"),
    fifo_queues=("*-progress.fifo",),
    fanout={"status": ("audit",)},
    stages=Stages(
        order=("research", "write", "review"),
        pattern=r"^(?P<task>.+)/(?P<stage>research|write|review)/(?P<n>\d+)$",
        table="*-tasks",
    ),
    max_receives=MAX_RECEIVE_COUNT,
    retried_messages="subtask:*",
    retry_senders="supervisor*",
    dead_letter_queues="*-dlq",
)


def assign_capabilities(workers: int) -> list[list[str]]:
    """Capabilities per worker agent: every capability is served; with three
    or more workers each serves one (and can long-poll it)."""
    if workers < len(CAPABILITIES):
        return [list(CAPABILITIES) for _ in range(workers)]
    return [[CAPABILITIES[i % len(CAPABILITIES)]] for i in range(workers)]


def _implementations(impls: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Worker factories per capability, and any WorkerLoop subclass named instead of a worker."""
    from reference_system.worker_loop import WorkerLoop
    from reference_system.workers import DEFAULT_WORKERS

    factories: dict[str, Any] = dict(DEFAULT_WORKERS)
    loops: dict[str, Any] = {}
    for cap, path in impls.items():
        if cap not in CAPABILITIES:
            raise ValueError(f"no capability {cap!r}: choose from {', '.join(CAPABILITIES)}")
        obj = load_object(path)
        if isinstance(obj, type) and issubclass(obj, WorkerLoop):
            loops[cap] = obj
        elif callable(obj):
            load_worker(path)  # fails early and clearly if it is not a Worker
            factories[cap] = obj
    return factories, loops


def agents(res: Resources, options: Mapping[str, Any]) -> list[AgentSpec]:
    from reference_system.audit_loop import AuditLoop
    from reference_system.worker_loop import WorkerLoop

    wait = int(options.get("wait_seconds", 0))

    def worker(caps: list[str]) -> Any:
        def make(env: AgentEnv) -> Any:
            # Imported where the agent runs (its own process, perhaps).
            factories, loops = _implementations(options.get("impls") or {})
            default_loop = (
                load_object(options["worker_loop_class"]) if options.get("worker_loop_class") else WorkerLoop
            )
            # One queue: long-poll it. Several: poll each in turn.
            w = wait if len(caps) == 1 else 0
            made = [
                loops.get(c, default_loop)(
                    factories[c](), env.session, env.resources, env.model, agent=env.name, wait_seconds=w
                )
                for c in caps
            ]
            return made[0] if len(made) == 1 else _Several(made)

        return make

    out = [AgentSpec("supervisor", _supervisor(options, intake=True), role="supervisor")]
    for i in range(2, int(options.get("supervisors", 1)) + 1):
        out.append(AgentSpec(f"supervisor-{i}", _supervisor(options, intake=False), role="supervisor"))
    procs = options.get("worker_processes")
    if procs:
        for i, caps in enumerate(assign_capabilities(int(procs)), 1):
            out.append(AgentSpec(f"worker-{i}", worker(caps), role="worker"))
    else:
        for cap in CAPABILITIES:
            for i in range(1, int(options.get("workers", 1)) + 1):
                out.append(AgentSpec(f"{cap}-{i}", worker([cap]), role="worker"))
    if options.get("auditor", True):
        out.append(AgentSpec("auditor", lambda env: AuditLoop(env.session, env.resources), role="consumer"))
    return out


def _supervisor(options: Mapping[str, Any], *, intake: bool) -> Any:
    from reference_system.intake import Intake, SupervisorAgent
    from reference_system.supervisor import Supervisor

    cls = load_object(options["supervisor_class"]) if options.get("supervisor_class") else Supervisor
    kw: dict[str, Any] = {}
    if options.get("sweep_interval") is not None:
        kw["sweep_interval"] = float(options["sweep_interval"])

    def make(env: AgentEnv) -> Any:
        sup = cls(env.session, env.resources, env.model, agent=env.name, ids=env.ids, clock=env.clock, **kw)
        if options.get("reads") == "eventual":
            # Every read goes to the table, eventually consistent: the cheapest
            # configuration, and the one where a stale read can do harm.
            from reference_system.store import VersionedStore

            sup.store = VersionedStore(
                sup.ddb, env.resources.tasks_table, sup.effects, consistent=False, cache=False
            )
        sup.recover()  # adopt whatever an earlier incarnation left unfinished
        q = env.resources.queue("requests") if intake else None
        return SupervisorAgent(sup, Intake(sup, env.session, q) if q else None)

    return make


class _Several:
    """One agent serving several capabilities: each loop in turn."""

    def __init__(self, loops: list[Any]) -> None:
        self.loops = loops
        self.effects = loops[0].effects

    def step(self) -> bool:
        did = False
        for loop in self.loops:
            did = bool(loop.step()) or did
        return did


def _requests(n: int, seed: int) -> list[Any]:
    from reference_system.workload import requests

    return list(requests(n, seed=seed))


def _submit(session: Any, res: Resources, request: Any) -> str:
    from reference_system.intake import submit

    return submit(session, res, request)


def _from_json(d: dict[str, Any]) -> Any:
    from reference_system.messages import BriefRequest
    from reference_system.workload import DEFAULT_BUDGET

    return BriefRequest.model_validate({"token_budget": DEFAULT_BUDGET, **d})


def _strategy(index: int, **kw: Any) -> Any:
    from hypothesis import strategies as st

    from reference_system.messages import BriefRequest
    from reference_system.workload import DEFAULT_BUDGET, TIGHT_BUDGET, TOPICS

    return st.builds(
        lambda topic, budget: BriefRequest(request_id=f"r{index}", topic=topic, token_budget=budget),
        st.sampled_from(list(kw.get("topics") or TOPICS)),
        st.sampled_from(list(kw.get("budgets") or (DEFAULT_BUDGET, TIGHT_BUDGET))),
    )


def _model(seed: int) -> Any:
    from reference_system.llm import ScriptedModel

    return ScriptedModel(seed=seed)


def _no_message(seconds: int) -> None:
    """A heartbeat where no message is in hand (the swap gate delivers directly)."""


def _worker_kit() -> WorkerKit:
    from reference_system.budget import BudgetExceeded
    from reference_system.messages import SubtaskMessage
    from reference_system.workers import PermanentFailure, WorkerContext

    return WorkerKit(
        task_type=SubtaskMessage,
        # The gate hands a subtask over without a queue: a heartbeat has nothing to extend.
        context=lambda agent, model, effects, recorder, task, session=None, resources=None: WorkerContext(
            agent, model, effects, recorder, task, session=session, resources=resources, heartbeat=_no_message
        ),
        model=_model,
        declared_failures=(BudgetExceeded, PermanentFailure),
        source="reference_system.contracts:source",
        # Workers may use ctx.client(service) and ctx.resources: the gate deploys the system for them.
        context_takes_aws=True,
        contracts=str(_HERE / "contracts"),
        golden=str(_HERE / "golden"),
    )


def _undeploy(session: Any, res: Resources) -> None:
    import contextlib

    sqs, sns, ddb = session.client("sqs"), session.client("sns"), session.client("dynamodb")
    for url in res.queues.values():
        with contextlib.suppress(Exception):
            sqs.delete_queue(QueueUrl=url)
    with contextlib.suppress(Exception):
        sns.delete_topic(TopicArn=res.topic_arn)
    for table in (res.tasks_table, res.registry_table, res.idempotency_table, res.briefs_table):
        with contextlib.suppress(Exception):
            ddb.delete_table(TableName=table)


system = System(
    name="reference",
    deploy=deploy,
    agents=agents,
    workload=Workload(
        requests=_requests,
        submit=_submit,
        request_id=lambda r: str(r.request_id),
        to_json=lambda r: r.model_dump(mode="json"),
        from_json=_from_json,
        strategy=_strategy,
        describe=lambda r: f"{r.request_id} ({r.topic}, budget {r.token_budget})",
    ),
    task_states=task_states,
    declarations=DECLARATIONS,
    model=_model,
    options={
        "workers": 1,
        "worker_processes": None,
        "supervisors": 1,
        "auditor": True,
        "wait_seconds": 0,
        "impls": {},
        "reads": "consistent",
        "sweep_interval": None,
    },
    dump_resources=lambda r: r.to_json(),
    load_resources=Resources.from_json,
    undeploy=_undeploy,
    worker_kit=_worker_kit(),
)
