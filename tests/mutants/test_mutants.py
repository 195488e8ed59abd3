"""The property suite catches every mutant within a bounded number of
examples, and passes the reference system on the very same examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.system import SystemRef
from tests.mutants.mutants import MUTANTS, subject
from tests.mutants.suite_run import SUITE, run


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_suite_catches_the_mutant(name: str, tmp_path: Path) -> None:
    row = run(name, subject(MUTANTS[name]), tmp_path)
    assert row.caught_by is not None, f"{name} survived {row.examples_total} examples"
    budget = dict(SUITE)[row.caught_by]
    assert row.examples <= budget


@pytest.mark.slow
def test_the_reference_system_passes_the_same_examples(tmp_path: Path) -> None:
    row = run("reference", SystemRef(), tmp_path)
    assert row.caught_by is None, row.verdict
    assert row.examples_total == sum(n for _, n in SUITE)
