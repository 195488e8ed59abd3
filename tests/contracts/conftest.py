from __future__ import annotations

from pathlib import Path

import pytest

from harness.contracts.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
GOLDEN = ROOT / "fixtures" / "golden"


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The repository's contract registry."""
    return Registry.load(CONTRACTS)
