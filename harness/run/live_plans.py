"""Fault plans applied and cleared while agents run.

An agent process started with ``--plan-dir DIR`` injects the faults of every
``*.json`` plan in ``DIR``, and notices within ``interval`` seconds when a plan
file appears, changes or disappears. Each plan file gets its own
:class:`~harness.faults.FaultInjector`, so adding one plan leaves the counters
of the others alone, and time windows count from when the plan was written.
Writers replace files atomically (write a temporary file, then rename it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.faults import FaultInjector, FaultPlan, PlanError
from harness.history.recorder import Recorder
from harness.instrument.session import Call, HttpAndParsed

Signature = tuple[str, int]  # (file name, mtime in ns)


class LivePlans:
    """Stands where one FaultInjector would (session interceptor, step hook,
    model faults) and delegates to one injector per plan file."""

    def __init__(
        self,
        plan_dir: Path,
        recorder: Recorder,
        *,
        on_crash: Callable[[str], None] | None = None,
        skip_crash: bool = False,
        interval: float = 0.1,
    ) -> None:
        self.dir = plan_dir
        self.recorder = recorder
        self.on_crash = on_crash
        self.interval = interval
        self._injectors: dict[Signature, FaultInjector] = {}
        self._checked = 0.0
        # After a restart, the crash that killed the previous incarnation must not fire again.
        self._no_crash: set[Signature] = set(self._scan()) if skip_crash else set()
        self.refresh(force=True)

    def _scan(self) -> list[Signature]:
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return []
        return sorted((e.name, e.stat().st_mtime_ns) for e in entries if e.name.endswith(".json"))

    def refresh(self, force: bool = False) -> None:
        """Re-read the plan directory (at most every ``interval`` seconds)."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval:
            return
        self._checked = now
        current = self._scan()
        if set(current) == set(self._injectors):
            return
        fresh: dict[Signature, FaultInjector] = {}
        for sig in current:
            if sig in self._injectors:
                fresh[sig] = self._injectors[sig]
                continue
            inj = self._load(sig)
            if inj is not None:
                fresh[sig] = inj
        self._injectors = fresh

    def _load(self, sig: Signature) -> FaultInjector | None:
        name, mtime_ns = sig
        try:
            plan = FaultPlan.load(self.dir / name)
        except PlanError:
            return None  # vanished or replaced meanwhile: the next scan sees the new state
        if sig in self._no_crash:
            plan = plan.model_copy(update={"faults": [f for f in plan.faults if f.kind != "crash"]})
        applied = mtime_ns / 1e9
        return FaultInjector(plan, self.recorder, clock=lambda: time.time() - applied, on_crash=self.on_crash)

    @property
    def injectors(self) -> list[FaultInjector]:
        return list(self._injectors.values())

    # -- the FaultInjector surface the agents use ---------------------------

    def install(self, session: Any) -> LivePlans:
        session.add_interceptor(self)
        return self

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed:
        self.refresh()
        chain = proceed
        for inj in reversed(self.injectors):
            chain = _bind(inj, call, chain)
        return chain()

    def on_step(self, agent: str) -> float:
        self.refresh()
        return sum(inj.on_step(agent) for inj in self.injectors)

    def model_fault(self, agent: str, kind: str) -> str | None:
        self.refresh()
        for inj in self.injectors:
            mode = inj.model_fault(agent, kind)
            if mode is not None:
                return mode
        return None

    @property
    def injected(self) -> int:
        return sum(inj.injected for inj in self.injectors)


def _bind(
    inj: FaultInjector, call: Call, proceed: Callable[[], HttpAndParsed]
) -> Callable[[], HttpAndParsed]:
    return lambda: inj.intercept(call, proceed)
