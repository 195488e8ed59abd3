"""The verification agents run wherever checkers run: a worker whose output
leaks a credential fails a simulated case, the sim fixture's checks, and a
chaos experiment's judgement, and the reference worker passes each."""

from __future__ import annotations

import pytest

from harness.chaos.invariants import judge
from harness.history.jsonl import read_history
from harness.sim.case import Case
from harness.sim.checks import failures
from harness.testing.run import Checks
from tests.checkers.test_golden import FIXTURES

LEAKY = {"impls": {"write": "tests.mutants.review_mutants:LeakyWriter"}}
REQUEST = {"request_id": "r0", "topic": "heat pumps", "token_budget": 4000}


@pytest.mark.parametrize(("options", "fails"), [(LEAKY, True), ({}, False)])
def test_a_simulated_case_is_audited(options: dict[str, object], fails: bool) -> None:
    _, verdicts = Case.of(3, [REQUEST], options=options).run()
    bad = {v.checker for v in failures(verdicts)}
    assert ("findings" in bad) is fails, bad
    if not fails:
        assert not bad


def test_the_fixtures_check_the_findings_by_default() -> None:
    assert "findings" in Checks().checker_names()


def test_a_chaos_judgement_includes_the_findings() -> None:
    bad = read_history(FIXTURES / "findings-leak-bad.jsonl")
    ok = read_history(FIXTURES / "findings-ok.jsonl")
    verdict = judge(bad, [], {})
    assert verdict["verdict"] == "violated" and verdict["invariants"]["findings"] == "violated"
    assert any(line.startswith("findings: leakage/") for line in verdict["violated"])
    assert judge(ok, [], {})["invariants"]["findings"] == "holds"
