"""The linearizability checker agrees with every verdict in Porcupine's corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checkers import UNKNOWN, check_linearizability
from harness.history.importers import read_etcd_log, read_kv_log

CONFORMANCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "porcupine"
_EXPECTED = (
    json.loads((CONFORMANCE / "expected.json").read_text())
    if (CONFORMANCE / "expected.json").exists()
    else {}
)
ETCD = sorted(_EXPECTED.get("etcd", {}).items())
KV = sorted(_EXPECTED.get("kv", {}).items())


@pytest.mark.parametrize(("name", "expected"), ETCD, ids=[n for n, _ in ETCD])
def test_etcd_register(conformance_dir: Path, name: str, expected: bool) -> None:
    verdict = check_linearizability(read_etcd_log(conformance_dir / "etcd" / name), "register", timeout=60)
    assert verdict.valid is expected
    if not expected:
        (anomaly,) = verdict.anomalies
        assert anomaly.kind == "nonlinearizable"
        assert anomaly.details["blocked"], "the witness names the operation that cannot be placed"


@pytest.mark.parametrize(("name", "expected"), KV, ids=[n for n, _ in KV])
def test_kv_partitioned(conformance_dir: Path, name: str, expected: bool) -> None:
    verdict = check_linearizability(read_kv_log(conformance_dir / "kv" / name), "kv", timeout=60)
    assert verdict.valid is expected
    assert verdict.stats["partitions"] > 1 or name.startswith("c01")


@pytest.mark.parametrize(("name", "expected"), KV, ids=[n for n, _ in KV])
def test_kv_unpartitioned(conformance_dir: Path, name: str, expected: bool) -> None:
    history = read_kv_log(conformance_dir / "kv" / name)
    if name.startswith("c50"):
        # Porcupine does not attempt these (c10 alone takes it 60-90 s); on a
        # budget the checker may say "unknown" but must never be wrong.
        verdict = check_linearizability(history, "kv", partitioned=False, timeout=5)
        assert verdict.valid in (expected, UNKNOWN)
    else:
        verdict = check_linearizability(history, "kv", partitioned=False, timeout=120)
        assert verdict.valid is expected
    assert verdict.stats["partitions"] == 1
