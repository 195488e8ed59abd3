"""Judging a journal: `chaos run` exits 0 when the steady state fails before
the method, so the verdict is read from the journal."""

from __future__ import annotations

from typing import Any

from harness.chaos.journal import ERROR, FAIL, PASS, judge


def _probe(name: str, met: bool, output: Any = 0, status: str = "succeeded") -> dict[str, Any]:
    return {
        "activity": {"name": name, "tolerance": 0},
        "status": status,
        "output": output,
        "tolerance_met": met,
    }


def _journal(before: bool | None, after: bool | None, status: str = "completed", **kw: Any) -> dict[str, Any]:
    def state(met: bool | None) -> dict[str, Any] | None:
        return (
            None
            if met is None
            else {"steady_state_met": met, "probes": [_probe("in-flight", met, 0 if met else 3)]}
        )

    return {
        "status": status,
        "deviated": after is False,
        "steady_states": {"before": state(before), "after": state(after)},
        "experiment": {"steady-state-hypothesis": {"probes": []}},
        "run": [],
        "rollbacks": [],
        **kw,
    }


def test_held_before_and_after_passes() -> None:
    assert judge(_journal(True, True)).code == PASS


def test_failing_before_the_method_is_a_failure_although_chaos_exits_0() -> None:
    v = judge(_journal(False, None))
    assert v.code == FAIL and "before the method" in v.summary
    assert v.details == ["probe in-flight: got 3, expected 0"]


def test_deviation_names_the_violated_invariants() -> None:
    j = _journal(True, False)
    verdict = {"verdict": "violated", "violated": ["idempotency: duplicate_effect: twice"], "unknown": []}
    j["steady_states"]["after"]["probes"] = [_probe("every-invariant-holds", False, verdict)]
    v = judge(j)
    assert v.code == FAIL and v.word == "FAIL"
    assert v.details == ["probe every-invariant-holds: violated", "  idempotency: duplicate_effect: twice"]


def test_a_system_that_did_not_start_or_an_interruption_is_an_error() -> None:
    refused = judge(
        _journal(None, None, "interrupted", harness={"error": "account 1 is not in the allow-list"})
    )
    assert refused.code == ERROR and "allow-list" in refused.summary
    assert judge(_journal(True, None, "interrupted")).code == ERROR


def test_a_probe_that_crashed_is_reported() -> None:
    j = _journal(True, False, "failed")
    j["steady_states"]["after"]["probes"] = [
        {"activity": {"name": "p"}, "status": "failed", "exception": ["Traceback", "ClusterError: boom\n"]}
    ]
    v = judge(j)
    assert v.code == FAIL and v.details == ["probe p failed: ClusterError: boom"]
