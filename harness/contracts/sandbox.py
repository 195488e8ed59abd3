"""Running a worker in-process: the system's model, an idempotency store
and a recorder, as its worker loop would give it (no queue: the subtask is
handed over). What a context holds comes from the system's
:class:`~harness.system.WorkerKit`; a kit whose workers use AWS themselves
also gets the agent's instrumented session and the resources of the system,
deployed once on in-process moto (:func:`deployed`).

The gate delivers the same subtask to the incumbent and the candidate, and
may deliver it twice (at-least-once), then compares what they did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.contracts.errors import ContractError
from harness.history.recorder import Recorder
from harness.instrument.effects import Effects
from harness.system import Worker, worker_kit

OK, FAILED, CRASHED = "ok", "failed", "crashed"
#: The deployed queues' visibility timeout: the gate receives no message (it
#: hands the subtask over), so nothing depends on it.
DEPLOY_VISIBILITY_TIMEOUT = 30


@dataclass
class Outcome:
    """What one delivery of a subtask to a worker came to."""

    status: str  # ok | failed (a declared failure) | crashed (anything else)
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    tokens: int = 0
    effects: list[tuple[str, str]] = field(default_factory=list)  # (kind, key) performed
    model_calls: int = 0
    #: Tokens of the model calls recorded during the delivery (``tokens`` is what the worker says it used).
    recorded_tokens: int = 0
    #: The subtask's token budget (None: the input declares none).
    budget: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "output": self.output,
            "reason": self.reason,
            "tokens": self.tokens,
            "effects": [list(e) for e in self.effects],
            "model_calls": self.model_calls,
        }


class MemoryIdempotency:
    """``ctx.effects`` for a worker run by the gate: each side effect happens
    at most once per (kind, key) across deliveries, as the reference system's
    IdempotentEffects guarantees with a DynamoDB table, kept in memory (the
    claims of one implementation, shared by all its deliveries). A worker
    reaches it only through ``perform``."""

    def __init__(self, claimed: set[str], effects: Effects) -> None:
        self._claimed = claimed
        self.recorder = effects

    def perform(self, kind: str, key: str, value: Any = None) -> bool:
        full = f"{kind}:{key}"
        if full in self._claimed:
            return False
        self._claimed.add(full)
        self.recorder.perform(kind, key, value=value)
        return True


IdempotencyFactory = Callable[[Effects], Any]


def idempotency_store() -> IdempotencyFactory:
    """A fresh store; every sandbox made with it shares its claims."""
    claimed: set[str] = set()
    return lambda effects: MemoryIdempotency(claimed, effects)


class Deployed:
    """The system, deployed on in-process moto for one gate run, and the
    agents' instrumented sessions on it (one per agent, clients kept)."""

    def __init__(self, endpoints: Any, versioned: Any = None) -> None:
        from harness.sim.pool import SessionPool

        self.endpoints = endpoints
        self.resources: Any = None
        self._versioned = versioned
        self._pool = SessionPool()

    def plain_session(self) -> Any:
        """An uninstrumented session (deploying, inspecting)."""
        return self._pool.plain(self.endpoints)

    def session(self, agent: str, recorder: Recorder, process: str) -> Any:
        """``agent``'s session, recording into ``recorder`` as ``process``."""
        s = self._pool.session(self.endpoints, agent, recorder, (), self._versioned)
        s.instrumentation.process = process
        return s


@contextmanager
def deployed(system: Any = None, *, seed: int = 0, prefix: str = "gate") -> Iterator[Deployed]:
    """Start the embedded backend in-process and deploy ``system`` on it
    (once); everything is gone on exit. While it runs, every boto3 client
    made in this process reaches moto."""
    from harness.backends import embedded
    from harness.system.spec import load_system

    s = load_system(system)
    with embedded("inprocess", seed=seed) as ep:
        d = Deployed(ep, s.declarations.versioned or None)
        try:
            d.resources = s.deploy(d.plain_session(), prefix, visibility_timeout=DEPLOY_VISIBILITY_TIMEOUT)
        except Exception as e:  # whatever the system's deploy raised: its workers cannot be run
            raise ContractError(
                f"cannot deploy system {s.name} for the gate: {type(e).__name__}: {e}"
            ) from None
        yield d


class Sandbox:
    """One worker with its own model, an idempotency store and a (shared)
    recorder; with ``aws``, the agent's session on that deployed system."""

    def __init__(
        self,
        worker: Worker,
        agent: str,
        recorder: Recorder,
        idempotency: IdempotencyFactory,
        seed: int = 0,
        system: Any = None,
        aws: Deployed | None = None,
    ) -> None:
        self.kit = worker_kit(system)
        self.worker = worker
        self.agent = agent
        self.recorder = recorder
        self.model = self.kit.model(seed)
        self.effects = Effects(recorder, agent, process=agent)
        self.idem = idempotency(self.effects)
        self.aws = aws

    def deliver(self, task: Any, context: Sequence[tuple[str, Any]] = ()) -> Outcome:
        """Hand ``task`` to the worker. ``context`` lists upstream outputs
        (capability, output) the inputs came from, recorded first so auditors
        reading the history know them."""
        for cap, output in context:
            upstream = Effects(self.recorder, f"{cap}-upstream", process=f"{cap}-upstream")
            value = {"task_id": task.task_id, "capability": cap, "status": "ok", "output": output}
            upstream.note("agent.output", f"{task.task_id}/{cap}/upstream", value)
        # One process per delivery: auditors delimit an attempt by its process.
        self.effects.process = f"{self.agent}/{task.subtask_id}"
        start = len(self.recorder.ops)
        ctx = self.kit.context(self.agent, self.model, self.idem, self.effects, task, **self._aws_args())
        try:
            raw = self.worker.handle(task, ctx)
            output, problem = _as_json_object(raw)
            out = Outcome(OK, output) if problem is None else Outcome(CRASHED, reason=problem)
        except self.kit.declared_failures as e:
            out = Outcome(FAILED, reason=str(e))
        except Exception as e:  # the gate judges it: a worker must not crash on a valid input
            out = Outcome(CRASHED, reason=f"{type(e).__name__}: {e}")
        out.tokens = ctx.tokens_used
        ops = self.recorder.ops[start:]
        out.effects = [
            (o.f.removeprefix("effect."), str(o.key))
            for o in ops
            if o.type == "ok" and o.f.startswith("effect.")
        ]
        calls = [o for o in ops if o.type == "ok" and o.f == "model.complete"]
        out.model_calls = len(calls)
        out.recorded_tokens = sum(_tokens(o.value) for o in calls)
        budget = getattr(task, "token_budget", None)
        out.budget = budget if isinstance(budget, int) else None
        self.effects.note(
            "agent.output",
            task.subtask_id,
            {
                "task_id": task.task_id,
                "capability": task.capability,
                "status": "ok" if out.status == OK else "failed",
                "output": out.output,
                "reason": out.reason,
                "tokens_used": out.tokens,
                "budget": task.token_budget,
                "inputs": task.inputs,
            },
        )
        return out

    def _aws_args(self) -> dict[str, Any]:
        if not self.kit.context_takes_aws:
            return {}
        if self.aws is None:
            return {"session": None, "resources": None}
        session = self.aws.session(self.agent, self.recorder, self.effects.process or self.agent)
        return {"session": session, "resources": self.aws.resources}


def _tokens(value: Any) -> int:
    v = value if isinstance(value, dict) else {}
    return sum(n for n in (v.get("input_tokens"), v.get("output_tokens")) if isinstance(n, int))


def _as_json_object(raw: Any) -> tuple[dict[str, Any], str | None]:
    if not isinstance(raw, dict):
        return {}, f"handle returned {type(raw).__name__}, not a dict"
    try:
        return json.loads(json.dumps(raw, allow_nan=False)), None
    except (TypeError, ValueError) as e:
        return {}, f"output is not JSON: {e}"
