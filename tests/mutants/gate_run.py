"""Judge each worker mutant (and each correct worker) with the swap gate,
``harness contracts check``, and print one line each::

    python -m tests.mutants.gate_run

A mutant that replaces the worker loop or the supervisor is not a worker:
the gate, which judges one worker against its role's contracts, cannot see
it (the table in README.md says so).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contracts.gate import FAIL, GateConfig, run_gate
from tests.mutants.mutants import CORRECT_WORKERS, MUTANTS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class GateRow:
    name: str
    role: str
    safe: bool
    failed_steps: tuple[str, ...]
    kinds: tuple[str, ...]
    seconds: float


def judge(name: str, parts: dict[str, Any], report_dir: Path | None = None) -> GateRow | None:
    """The gate's verdict on the one worker ``parts`` swaps in (None: not a worker)."""
    workers = parts.get("workers") or {}
    if len(workers) != 1 or set(parts) != {"workers"}:
        return None
    ((role, path),) = workers.items()
    out = report_dir or Path(tempfile.mkdtemp(prefix="gate-"))
    t0 = time.perf_counter()
    report = run_gate(
        GateConfig(
            role=role,
            candidate=path,
            contracts=ROOT / "contracts",
            golden=ROOT / "fixtures" / "golden",
            examples=10,
            report=out / f"{role}.json",
        )
    )
    failed = [s for s in report.steps if s.status == FAIL]
    kinds = tuple(sorted({f["kind"] for s in failed for f in s.findings if f.get("severity") == "error"}))
    return GateRow(name, role, report.safe, tuple(s.name for s in failed), kinds, time.perf_counter() - t0)


def main() -> int:
    ok = True
    for table, must_fail in ((MUTANTS, True), (CORRECT_WORKERS, False)):
        for name, parts in table.items():
            row = judge(name, parts)
            if row is None:
                print(f"| {name} | not a worker: the gate cannot judge it |")
                continue
            verdict = "NOT SAFE" if not row.safe else "safe"
            print(
                f"| {name} | {row.role} | {verdict} | {', '.join(row.failed_steps) or '-'} | "
                f"{', '.join(row.kinds) or '-'} | {row.seconds:.1f} |"
            )
            ok = ok and (row.safe is not must_fail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
