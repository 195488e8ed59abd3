"""The main job: run the reference system, record it, check it, summarise it."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import settings
from harness.backends import embedded
from harness.history.jsonl import iter_history, merge_files
from harness.history.recorder import Recorder, wall_clock
from harness.instrument.session import plain_session, session
from harness.run import processes
from harness.run.invariants import Invariant, all_terminal, no_double_effects


class RunError(RuntimeError):
    """A run that could not be carried out (bad input, backend trouble)."""


@dataclass
class RunConfig:
    backend: str = "embedded"
    requests: int = 20
    workers: int = 3
    seed: int = 1
    out: Path | None = None
    timeout: float = 600.0
    prefix: str = "mas"

    def validate(self) -> None:
        if self.backend != "embedded":
            raise RunError(f"unknown backend {self.backend!r}: available: embedded")
        if self.requests < 0:
            raise RunError("--requests must be zero or more")
        if self.workers < 1:
            raise RunError("--workers must be at least 1")
        if self.timeout <= 0:
            raise RunError("--timeout must be positive")


@dataclass
class RunResult:
    out: Path
    history: Path
    submitted: int
    completed: int
    failed: int
    unfinished: list[str]
    operations: int
    wall_time: float
    invariants: list[Invariant] = field(default_factory=list)
    audit_events: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(i.holds for i in self.invariants)


def default_out(seed: int) -> Path:
    return settings.RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}"


def run(cfg: RunConfig, progress: Any = None) -> RunResult:
    """Run the reference system as separate processes against the server-mode
    embedded backend. ``progress(finished, total)`` is called while it runs."""
    cfg.validate()
    out = cfg.out or default_out(cfg.seed)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    start_ns = time.time_ns()
    t0 = time.monotonic()
    from reference_system.resources import deploy

    with embedded("server", seed=cfg.seed) as ep:
        with Recorder(parts / "history.deploy.jsonl", clock=wall_clock(start_ns), keep=False) as rec:
            res = deploy(session(ep, "deploy", rec), cfg.prefix)
        (out / "resources.json").write_text(res.to_json())
        common = [
            "--resources",
            str(out / "resources.json"),
            "--seed",
            str(cfg.seed),
            "--start-ns",
            str(start_ns),
        ]
        workers = [
            processes.spawn(
                [
                    "worker",
                    "--agent",
                    f"worker-{i}",
                    "--history",
                    str(parts / f"history.worker-{i}.jsonl"),
                    "--capabilities",
                    ",".join(caps),
                    *common,
                ],
                ep,
                parts / f"worker-{i}.log",
            )
            for i, caps in enumerate(assign_capabilities(cfg.workers), 1)
        ]
        progress_file, summary_file = parts / "progress.json", parts / "summary.json"
        sup = processes.spawn(
            [
                "supervisor",
                "--agent",
                "supervisor",
                "--history",
                str(parts / "history.supervisor.jsonl"),
                "--requests",
                str(cfg.requests),
                "--progress",
                str(progress_file),
                "--summary",
                str(summary_file),
                "--timeout",
                str(cfg.timeout),
                *common,
            ],
            ep,
            parts / "supervisor.log",
        )
        try:
            while sup.poll() is None:
                if progress is not None and progress_file.exists():
                    try:
                        p = json.loads(progress_file.read_text())
                        progress(p["finished"], p["submitted"])
                    except (ValueError, KeyError):
                        pass
                time.sleep(0.2)
        finally:
            processes.stop([sup, *workers])
        if sup.returncode != 0 or not summary_file.exists():
            tail = (parts / "supervisor.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise RunError(f"supervisor exited with {sup.returncode}: {tail[0] if tail else 'no output'}")
        summary = json.loads(summary_file.read_text())
        states = _task_states(plain_session(ep), res.tasks_table)
    history = out / "history.jsonl"
    n_ops = merge_files(sorted(parts.glob("history.*.jsonl")), history)
    counts = Counter(states.values())
    unfinished = sorted(t for t, s in states.items() if s not in ("done", "failed"))
    result = RunResult(
        out=out,
        history=history,
        submitted=summary["submitted"],
        completed=counts["done"],
        failed=counts["failed"],
        unfinished=unfinished,
        operations=n_ops,
        wall_time=time.monotonic() - t0,
        audit_events=summary.get("audit_events", {}),
    )
    result.invariants = [
        all_terminal(summary["requests"], states),
        no_double_effects(iter_history(history)),
    ]
    (out / "summary.json").write_text(json.dumps(_summary_json(result), indent=2))
    return result


def assign_capabilities(workers: int) -> list[list[str]]:
    """Capabilities per worker process: every capability is served; with
    three or more workers each process serves one (and can long-poll it)."""
    from reference_system.resources import CAPABILITIES

    if workers < len(CAPABILITIES):
        return [list(CAPABILITIES) for _ in range(workers)]
    return [[CAPABILITIES[i % len(CAPABILITIES)]] for i in range(workers)]


def _task_states(sess: Any, table: str) -> dict[str, str]:
    ddb = sess.client("dynamodb")
    states: dict[str, str] = {}
    kw: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for it in page.get("Items", []):
            if it.get("kind", {}).get("S") == "task":
                states[it["pk"]["S"]] = it["state"]["S"]
        if "LastEvaluatedKey" not in page:
            return states
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _summary_json(r: RunResult) -> dict[str, Any]:
    return {
        "submitted": r.submitted,
        "completed": r.completed,
        "failed": r.failed,
        "unfinished": r.unfinished,
        "operations": r.operations,
        "wall_time_s": round(r.wall_time, 3),
        "audit_events": r.audit_events,
        "invariants": [{"name": i.name, "holds": i.holds, "detail": i.detail} for i in r.invariants],
        "verdict": "pass" if r.ok else "fail",
    }
