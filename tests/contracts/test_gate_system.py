"""The gate runs a system's workers through that system's worker kit
(`--system`); a system it cannot use is a one-line error and exit 2."""

from __future__ import annotations

import pytest

from harness.contracts.cli import main
from tests.contracts.conftest import CONTRACTS, GOLDEN

BASE = ["check", "--dir", str(CONTRACTS), "--golden", str(GOLDEN), "--examples", "3", "--role", "research"]
WORKER = "--candidate=reference_system.workers:ResearchWorker"


def test_the_reference_system_named_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, WORKER, "--system", "reference_system.system:system"]) == 0
    assert "SAFE to swap" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("system", "says"),
    [
        ("nowhere.at_all:system", "cannot import 'nowhere.at_all'"),
        ("examples.counter.system:system", "declares no worker kit"),
        ("harness.system:Declarations", "not a harness.system.System"),
        ("json:loads", "json:loads() raised TypeError"),  # a factory that needs arguments
    ],
)
def test_a_system_the_gate_cannot_use_is_a_one_line_error(
    system: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, WORKER, "--system", system]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1
