"""Every case kept in ``fixtures/cases/`` (failures found once, by a seeded
run or a campaign, then fixed) replays and passes every check."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sim.case import Case
from harness.sim.checks import failures

CASES = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "cases").glob("*.json"))


def test_there_are_regression_cases() -> None:
    assert CASES


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_a_kept_case_replays_and_passes(path: Path) -> None:
    result, verdicts = Case.load(path).run()
    assert not failures(verdicts), failures(verdicts)
    assert result.stopped == "finished"
    assert b"InvalidTransition" not in b"".join(
        str(op.value).encode() for op in result.ops if op.type != "ok"
    )
