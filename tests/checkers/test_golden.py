"""Every checker passes its golden -ok histories and fails its -bad ones with the named anomaly."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers import CHECKERS, check
from harness.checkers.conventions import REFERENCE_STATE_MACHINE
from harness.history.jsonl import read_history

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"

#: The golden histories are the reference system's: its declarations judge them.
SPECS = {"state_machine": REFERENCE_STATE_MACHINE}

BAD_KINDS = {
    "budget-over-bad.jsonl": "over_budget",
    "delivery-lost-bad.jsonl": "lost",
    "delivery-unexpected-bad.jsonl": "unexpected",
    "idempotency-duplicate-bad.jsonl": "duplicate_effect",
    "idempotency-changing-key-bad.jsonl": "duplicate_effect",
    "findings-leak-bad.jsonl": "leakage/email_address",
    "linearizability-kv-bad.jsonl": "nonlinearizable",
    "linearizability-register-bad.jsonl": "nonlinearizable",
    "liveness-bad.jsonl": "unfinished",
    "lost-update-repeat-bad.jsonl": "version_repeat",
    "ordering-fifo-bad.jsonl": "reordered",
    "ordering-state-bad.jsonl": "illegal_transition",
    "session-monotonic-bad.jsonl": "non_monotonic_read",
    "session-stale-read-bad.jsonl": "stale_read",
}


def _checker(path: Path) -> str:
    return next(n for n in sorted(CHECKERS, key=len, reverse=True) if path.name.startswith(n + "-"))


def _run(path: Path):
    name = _checker(path)
    model = path.name.split("-")[1] if name == "linearizability" else "register"
    (verdict,) = check(read_history(path), [name], model=model, specs=SPECS)
    return verdict


OK = sorted(FIXTURES.glob("*-ok.jsonl"))
BAD = sorted(FIXTURES.glob("*-bad.jsonl"))


def test_every_checker_has_golden_histories() -> None:
    for name in CHECKERS:
        assert any(_checker(p) == name for p in OK), f"no -ok history for {name}"
        assert any(_checker(p) == name for p in BAD), f"no -bad history for {name}"
    assert {p.name for p in BAD} == set(BAD_KINDS)


@pytest.mark.parametrize("path", OK, ids=[p.name for p in OK])
def test_ok_history_passes(path: Path) -> None:
    verdict = _run(path)
    assert verdict.valid is True, [a.message for a in verdict.anomalies]
    assert not verdict.violations


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_history_fails_with_witness(path: Path) -> None:
    verdict = _run(path)
    assert verdict.valid is False
    kinds = {a.kind for a in verdict.violations}
    assert BAD_KINDS[path.name] in kinds
    history = {op.index for op in read_history(path)}
    for a in verdict.violations:
        assert a.ops, "every violation names its witnessing operations"
        assert set(a.ops) <= history
        assert a.message


@pytest.mark.parametrize("path", OK + BAD, ids=[p.name for p in OK + BAD])
def test_all_checkers_run_on_every_golden_history(path: Path) -> None:
    verdicts = check(read_history(path), [n for n in CHECKERS if n != "linearizability"])
    assert all(v.valid in (True, False, "unknown") for v in verdicts)
