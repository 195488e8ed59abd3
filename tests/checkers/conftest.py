from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO / ".." / "shared" / "conformance" / "porcupine"
FIXTURES = REPO / "fixtures" / "histories"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE / "expected.json").exists():
        pytest.skip(f"conformance corpus not found at {CONFORMANCE}")
    return CONFORMANCE
