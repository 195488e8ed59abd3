"""The inputs the gate feeds a worker: golden subtasks from ``fixtures/``, and
subtasks Hypothesis generates from the role's input contract."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import ValidationError

from harness.contracts.errors import ContractError
from harness.contracts.registry import Registry, plain_schema
from harness.system import worker_kit

SubtaskMessage = Any  # the system's worker input type (WorkerKit.task_type)


@dataclass(frozen=True)
class Golden:
    name: str
    task: SubtaskMessage
    expect: str | None  # the status the worker must reach, if the fixture says


def load_golden(
    directory: Path, role: str, input_contract: str, registry: Registry, task_type: Any = None
) -> list[Golden]:
    """``DIRECTORY/ROLE/*.json``: each ``{"task": {...subtask...}, "expect": {"status": "ok"}}``."""
    d = directory / role
    if not d.is_dir():
        raise ContractError(f"{d}: no golden inputs for role {role!r}")
    out = []
    for path in sorted(d.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            task = (task_type or worker_kit().task_type).model_validate(doc["task"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            what = (
                f"{e.error_count()} invalid field(s)"
                if isinstance(e, ValidationError)
                else f"{type(e).__name__}: {e}"
            )
            raise ContractError(f"{path}: not a golden subtask ({what})") from None
        if task.capability != role:
            raise ContractError(f"{path}: a {task.capability} subtask among the {role} golden inputs")
        errors = registry.errors(input_contract, None, task.inputs)
        if errors:
            raise ContractError(f"{path}: inputs break {input_contract}: {errors[0]}")
        out.append(Golden(path.stem, task, (doc.get("expect") or {}).get("status")))
    if not out:
        raise ContractError(f"{d}: no golden inputs for role {role!r}")
    return out


def subtasks(role: str, inputs_schema: Any, task_type: Any = None) -> st.SearchStrategy[SubtaskMessage]:
    """Subtasks for ``role`` (of ``task_type``, the system's worker input;
    default: the reference system's) whose inputs are drawn from the input contract."""
    make = task_type or worker_kit().task_type
    ids = itertools.count()
    topics = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40)

    def build(inputs: Any, topic: str, budget: int) -> SubtaskMessage:
        n = next(ids)
        return make(
            task_id=f"gen-{n}",
            subtask_id=f"gen-{n}/{role}/0",
            capability=role,
            topic=topic,
            token_budget=budget,
            inputs=inputs,
        )

    return st.builds(build, from_schema(plain_schema(inputs_schema)), topics, st.integers(100, 4000))


class _Found(Exception):
    pass


def probe(
    strategy: st.SearchStrategy[SubtaskMessage],
    examples: int,
    seed: int,
    problems: Callable[[SubtaskMessage], list[Any]],
) -> tuple[SubtaskMessage, list[Any]] | None:
    """Run ``problems`` on up to ``examples`` generated subtasks. The first
    that has problems is shrunk to a minimal one, which is returned with its
    problems; None if none had any."""
    last: list[tuple[SubtaskMessage, list[Any]]] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis_seed(seed)
    @given(strategy)
    def run(task: SubtaskMessage) -> None:
        found = problems(task)
        if found:
            last.append((task, found))
            raise _Found()

    try:
        run()
    except _Found:
        return last[-1]
    return None
