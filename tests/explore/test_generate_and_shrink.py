"""Generation is deterministic (case i of seed s is always the same case, in
any process, whatever was imported first) and the shrinker's greedy pass ends
on the smallest case that still fails in the same group; neither needs a
simulation here."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.explore.generate import BLOCK, CaseSource, check_kinds
from harness.explore.outcome import Outcome
from harness.explore.shrink import Shrinker, size
from harness.faults.plan import Fault, FaultPlan, Target, Trigger
from harness.sim.case import Case
from harness.system import SystemRef

ROOT = Path(__file__).resolve().parents[2]
INDICES = (0, 1, 7, BLOCK - 1, BLOCK + 3)


def test_case_i_of_a_seed_is_the_same_in_any_order_and_any_process() -> None:
    source = CaseSource(SystemRef(), 11)
    forward = [source[i].digest() for i in INDICES]
    source = CaseSource(SystemRef(), 11)
    backward = [source[i].digest() for i in reversed(INDICES)][::-1]
    assert forward == backward
    # a fresh interpreter, with none of pytest's modules loaded
    code = (
        "import json; from harness.explore.generate import CaseSource; from harness.system import SystemRef; "
        f"s = CaseSource(SystemRef(), 11); print(json.dumps([s[i].digest() for i in {list(INDICES)!r}]))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert json.loads(p.stdout) == forward
    # another seed is another sequence; the cases differ from one another
    assert [CaseSource(SystemRef(), 12)[i].digest() for i in INDICES[:3]] != forward[:3]
    assert len(set(forward[1:])) == len(forward) - 1


def test_fault_kinds_and_a_fixed_plan_shape_the_cases() -> None:
    source = CaseSource(SystemRef(), 3, kinds=check_kinds(["crash", "duplicate_delivery"]))
    kinds = {f.kind for i in range(20) for f in source[i].plan.faults}
    assert kinds and kinds <= {"crash", "duplicate_delivery"}
    plan = FaultPlan(seed=9, faults=[Fault(kind="delay", params={"seconds": 1.0})])
    fixed = CaseSource(SystemRef(), 3, plan=plan)
    assert all(fixed[i].plan == plan for i in range(5))
    assert fixed.fingerprint() != source.fingerprint() != CaseSource(SystemRef(), 3).fingerprint()


def _big_case() -> Case:
    faults = [
        Fault(kind="crash", target=Target(agent="write-1"), trigger=Trigger(nth=6)),
        Fault(kind="delay", params={"seconds": 2.0}),
        Fault(kind="throttle", trigger=Trigger(nth=3, max_count=3)),
    ]
    requests = [{"request_id": f"r{i}", "topic": "t", "token_budget": 4000} for i in range(3)]
    return Case(
        seed=4000,
        workload=tuple(requests),
        plan=FaultPlan(seed=200, faults=faults),
        schedule=(3, 1, 4, 1, 5, 9, 2, 6),
        workers=2,
    )


def _fake_runs(calls: list[int], width_seen: list[int]) -> Any:
    """Fails (group fake/bug) when a case has request r1 and a crash fault."""

    def run_many(cases: list[dict[str, Any]]) -> Iterator[Outcome]:
        calls.append(len(cases))
        width_seen.append(len(cases))
        for c in reversed(cases):  # as completed: any order
            bad = any(r["request_id"] == "r1" for r in c["workload"]) and any(
                f["kind"] == "crash" for f in c["plan"].get("faults", [])
            )
            yield Outcome(case=c, failed=bad, violations=(("fake", "bug"),) if bad else ())

    return run_many


def test_the_shrinker_keeps_only_smaller_cases_failing_in_the_same_group() -> None:
    big = _big_case()
    first = Outcome(case=big.to_json(), failed=True, violations=(("fake", "bug"),))
    results = []
    for width in (1, 3):
        calls: list[int] = []
        shrinker = Shrinker(big, first, _fake_runs(calls, []), width=width, seconds=300)
        results.append(shrinker.run())
        assert shrinker.complete and shrinker.runs == sum(calls)
        assert all(n <= width for n in calls)
    small = results[0]
    assert results[1] == small  # the first failing candidate of a batch wins: width does not matter
    assert [r["request_id"] for r in small.workload] == ["r1"]
    assert [f.kind for f in small.plan.faults] == ["crash"]
    assert small.plan.faults[0].trigger.nth == 1
    assert small.schedule == () and small.seed == 0 and small.plan.seed == 0 and small.workers == 1
    assert size(small) < size(big)


def test_a_shrink_stops_at_its_bound_with_the_smallest_so_far() -> None:
    big = _big_case()
    first = Outcome(case=big.to_json(), failed=True, violations=(("fake", "bug"),))
    shrinker = Shrinker(big, first, _fake_runs([], []), max_runs=3)
    best = shrinker.run()
    assert not shrinker.complete and shrinker.runs <= 3
    assert size(best) <= size(big)
