"""The cost of redaction on the recorder's hot path, per operation.

    python -m benchmarks.bench_redaction [--requests 3] [--repeat 5] [--seed 1]

The operations are real: a simulated run of the reference system, recorded
with redaction off. Each is then recorded again through ``Recorder.record``
(in memory) with redaction off and on; the difference per operation is the
cost. "cold" makes a new redactor for every pass (nothing cached), "warm"
reuses one (ids and names repeat, so most strings are cached), "secrets"
records the same operations with a secret planted in every value.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from harness.history.model import Op
from harness.history.recorder import Recorder
from harness.redaction import RedactionSettings, Redactor, configure

SECRET = "key AKIAIOSFODNN7EXAMPLE"


def sim_ops(requests: int, seed: int) -> list[Op]:
    from harness.sim.case import Case
    from harness.sim.simulator import simulate

    configure(RedactionSettings(enabled=False))
    try:
        request = {"topic": "heat pumps", "token_budget": 4000}
        case = Case.of(seed, [{**request, "request_id": f"r{i}"} for i in range(requests)])
        return list(simulate(case.config()).ops)
    finally:
        configure()


def _replay(ops: list[Op], make: Callable[[], Redactor]) -> float:
    rec = Recorder(clock=lambda: 0, keep=False, redactor=make())
    t0 = time.perf_counter()
    for op in ops:
        rec.record(
            op.process,
            op.type,
            op.f,
            op.key,
            op.value,
            correlation_id=op.correlation_id,
            error=op.error,
            **op.meta,
        )
    return time.perf_counter() - t0


def bench(ops: list[Op], repeat: int) -> dict[str, Any]:
    planted = [
        Op(
            o.index,
            o.time,
            o.process,
            o.type,
            o.f,
            o.key,
            {"v": o.value, "note": SECRET},
            o.correlation_id,
            o.error,
            o.meta,
        )
        for o in ops
    ]
    warm = Redactor()

    def best(batch: list[Op], make: Callable[[], Redactor]) -> float:
        return min(_replay(batch, make) for _ in range(repeat)) / len(batch) * 1e6

    off = best(ops, Redactor.off)
    return {
        "operations": len(ops),
        "record, redaction off (us/op)": round(off, 2),
        "cold: + redaction (us/op)": round(best(ops, Redactor) - off, 2),
        "warm: + redaction (us/op)": round(best(ops, lambda: warm) - off, 2),
        "secrets: + redaction (us/op)": round(best(planted, Redactor) - best(planted, Redactor.off), 2),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    for k, v in bench(sim_ops(a.requests, a.seed), a.repeat).items():
        print(f"{k:34s} {v}")


if __name__ == "__main__":
    main()
