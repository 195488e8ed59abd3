"""Failed verdicts as text a person can read: each anomaly with the
operations that witness it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from harness.checkers.verdict import Verdict
from harness.history.model import Op


def explain(
    verdicts: Iterable[Verdict], ops: Sequence[Op], *, max_anomalies: int = 3, max_ops: int = 4
) -> str:
    """The failed verdicts among ``verdicts``, each with up to ``max_anomalies``
    anomalies and, for each, up to ``max_ops`` witnessing operations."""
    by_index = {op.index: op for op in ops} if ops and ops[-1].index != len(ops) - 1 else None
    lines: list[str] = []
    for v in verdicts:
        if v.valid is not False:
            continue
        bad = v.violations
        lines.append(f"{v.checker}: {len(bad)} violation{'s' if len(bad) != 1 else ''}")
        for a in bad[:max_anomalies]:
            lines.append(f"  - {a.kind}: {a.message}")
            for i in a.ops[:max_ops]:
                op = by_index.get(i) if by_index is not None else (ops[i] if 0 <= i < len(ops) else None)
                if op is not None:
                    lines.append(f"      op {describe_op(op)}")
            if len(a.ops) > max_ops:
                lines.append(f"      ... and {len(a.ops) - max_ops} more operations")
        if len(bad) > max_anomalies:
            lines.append(f"  ... and {len(bad) - max_anomalies} more")
    return "\n".join(lines)


def describe_op(op: Op, width: int = 100) -> str:
    """``index  time  process  type  f  key  value`` on one line."""
    value = "" if op.value is None else json.dumps(op.value, sort_keys=True, default=str)
    if len(value) > width:
        value = value[: width - 3] + "..."
    err = f" error={op.error}" if op.error else ""
    return f"{op.index} t={op.time / 1e9:.3f}s {op.process} {op.type} {op.f} {op.key}{err} {value}".rstrip()
