"""What the pytest plugin's options say, as one value the fixtures share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.system import SystemRef

BACKENDS: tuple[str, ...] = ("embedded", "localstack", "aws")


@dataclass(frozen=True)
class HarnessConfig:
    """The session's harness settings: backend, seed, report directory and the system under test."""

    backend: str = "embedded"
    seed: int = 0
    #: ``--harness-report``: every test's history and verdicts go here.
    report_dir: Path | None = None
    #: Where failing cases are saved for replay (the report directory, else a temporary one).
    cases_dir: Path = field(default_factory=lambda: Path("harness-cases"))
    #: ``--harness-system`` (with ``--harness-worker`` as its ``impls`` option).
    system: SystemRef = field(default_factory=SystemRef)
    aws_profile: str | None = None
    allowed_accounts: tuple[str, ...] = ()
    #: ``--hypothesis-seed``, when it decides the property suite's draws (it
    #: was given and ``--harness-seed`` was not); else the harness seed does.
    hypothesis_seed: str | None = None
    #: Directories the system's and workers' modules were imported from that
    #: a fresh ``pytest`` or ``python -m harness.sim`` would not search (the
    #: rootdir, say): the ``PYTHONPATH`` of the replay commands.
    pythonpath: tuple[str, ...] = ()
    #: ``--harness-corpus``: failing cases kept by ``harness explore``, replayed first by the suite.
    corpus_dir: Path | None = None
    #: ``--harness-explore``: seconds of exploration campaign the suite adds (None: none).
    explore_seconds: float | None = None

    @property
    def suite_seed(self) -> int | None:
        """What seeds the property suite's draws (None: Hypothesis's own seed)."""
        return None if self.hypothesis_seed is not None else self.seed

    def describe(self) -> str:
        out = f"harness: backend {self.backend}, seed {self.seed}"
        if self.system.spec or self.system.options:
            out += f", system {self.system.describe()}"
        if self.report_dir is not None:
            out += f", report {self.report_dir}"
        return out


def resolve_plan(spec: Any, seed: int, system: SystemRef | None = None) -> Any:
    """A FaultPlan from a ``harness_chaos(plan=...)`` value: a FaultPlan, a
    dict, JSON text, a path to a JSON file, ``"default"`` (the system's
    default plan) or ``None``/``"none"``."""
    from harness.faults.plan import FaultPlan

    if spec is None or spec == "none":
        return FaultPlan(seed=seed)
    if isinstance(spec, FaultPlan):
        return spec
    if spec == "default":
        return (system or SystemRef()).load().default_plan(seed)
    if isinstance(spec, dict):
        return FaultPlan.parse(json.dumps({"seed": seed, **spec}), "harness_chaos plan")
    text = str(spec)
    if text.lstrip().startswith("{"):
        return FaultPlan.parse(text, "harness_chaos plan")
    return FaultPlan.load(Path(text))
