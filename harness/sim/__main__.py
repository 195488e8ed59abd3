"""``python -m harness.sim replay CASE.json``: run a saved case again, check
it, and write its history (the same, byte for byte, as when it was saved)."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.sim", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replay", help="replay a saved case and check it")
    r.add_argument("case", type=Path, help="a case file written by a failing property or test")
    r.add_argument("--out", type=Path, default=None, help="write the history here (JSONL)")
    r.add_argument("--checkers", default=None, help="comma-separated checkers (default: the suite's)")
    args = ap.parse_args(argv)

    from harness.faults.plan import PlanError
    from harness.sim.case import Case
    from harness.sim.checks import failures
    from harness.sim.explain import explain
    from harness.system import check_impls

    try:
        case = Case.load(args.case)
    except (OSError, ValueError, TypeError, PlanError) as e:
        print(f"harness.sim: cannot read case {args.case}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    checkers = None if args.checkers is None else [c for c in args.checkers.split(",") if c]
    try:
        # A system, knob or worker that cannot be used: one line, before anything runs.
        case.check()
        if "impls" in case.options:
            try:
                check_impls(case.options["impls"])
            except ValueError as e:
                raise ValueError(f"worker {e}") from None
    except (ImportError, AttributeError, ValueError, TypeError) as e:
        print(f"harness.sim: cannot build the system of {args.case}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    try:
        result, verdicts = case.run(checkers)
    except (ImportError, AttributeError, ValueError) as e:
        print(f"harness.sim: cannot build the system of {args.case}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    out = args.out or args.case.with_suffix(".history.jsonl")
    result.write(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    print(case.describe())
    print(
        f"run:      {len(result.ops)} operations, {result.steps} steps, "
        f"{result.virtual_seconds:.1f} virtual seconds, ended: {result.stopped}"
    )
    print(f"tasks:    {', '.join(f'{t}={s}' for t, s in sorted(result.task_states.items())) or '(none)'}")
    print(f"history:  {out} (sha256 {digest})")
    bad = failures(verdicts)
    if bad:
        print(explain(bad, result.ops))
        print("FAIL")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
