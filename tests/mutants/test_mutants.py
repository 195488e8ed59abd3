"""The property suite catches every mutant within a bounded number of
examples, and passes the reference system (and correct workers of someone
else's) on the very same examples; the swap gate agrees on every worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.system import SystemRef
from tests.mutants.gate_run import judge
from tests.mutants.mutants import CORRECT_WORKERS, GATE_BLIND, MUTANTS, SUITE_BLIND, subject
from tests.mutants.suite_run import SUITE, run


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_suite_catches_the_mutant(name: str, tmp_path: Path) -> None:
    row = run(name, subject(MUTANTS[name]), tmp_path)
    if name in SUITE_BLIND:
        assert row.caught_by is None, (
            f"{name} is listed as invisible to the suite, but {row.caught_by} caught it"
        )
        return
    assert row.caught_by is not None, f"{name} survived {row.examples_total} examples"
    budget = dict(SUITE)[row.caught_by]
    assert row.examples <= budget


@pytest.mark.slow
def test_the_reference_system_passes_the_same_examples(tmp_path: Path) -> None:
    row = run("reference", SystemRef(), tmp_path)
    assert row.caught_by is None, row.verdict
    assert row.examples_total == sum(n for _, n in SUITE)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CORRECT_WORKERS))
def test_the_suite_passes_correct_workers_of_someone_else(name: str, tmp_path: Path) -> None:
    row = run(name, subject(CORRECT_WORKERS[name]), tmp_path)
    assert row.caught_by is None, row.verdict


@pytest.mark.parametrize("name", [n for n, p in MUTANTS.items() if set(p) == {"workers"}])
def test_the_gate_judges_every_worker_mutant_not_safe(name: str, tmp_path: Path) -> None:
    row = judge(name, MUTANTS[name], tmp_path)
    assert row is not None
    if name in GATE_BLIND:
        assert row.safe, f"{name} is listed as invisible to the gate, but the gate caught it"
        return
    assert not row.safe, f"the gate calls {name} safe to swap"


@pytest.mark.parametrize("name", list(CORRECT_WORKERS))
def test_the_gate_passes_correct_workers_of_someone_else(name: str, tmp_path: Path) -> None:
    row = judge(name, CORRECT_WORKERS[name], tmp_path)
    assert row is not None and row.safe, row
