"""``harness check``: exit codes, table of verdicts, one-line errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.checkers.cli_check import run_check

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "histories"
CONFORMANCE = REPO / ".." / "shared" / "conformance" / "porcupine"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(
        list(argv),
        console=Console(file=out, width=200, color_system=None),
        err=Console(file=err, width=200, color_system=None),
    )
    return code, out.getvalue(), err.getvalue()


def test_valid_history_exits_0_and_prints_a_table() -> None:
    code, out, err = run(str(FIXTURES / "delivery-ok.jsonl"))
    assert code == 0, out + err
    for name in ("delivery", "idempotency", "ordering", "lost-update", "session", "budget"):
        assert name in out
    assert "duplicated (warning)" in out


def test_violation_exits_1_with_witness() -> None:
    code, out, _ = run(str(FIXTURES / "lost-update-repeat-bad.jsonl"), "--checker", "lost-update")
    assert code == 1
    assert "VIOLATION" in out and "version_repeat" in out and "ops 7, 8, 9" in out


def test_linearizability_with_a_model() -> None:
    code, out, _ = run(str(FIXTURES / "linearizability-kv-bad.jsonl"), "--model", "kv")
    assert code == 1 and "nonlinearizable" in out and "cannot be placed" in out
    code, _, _ = run(
        str(FIXTURES / "linearizability-kv-ok.jsonl"), "--checker", "linearizability", "--model", "kv"
    )
    assert code == 0


def test_jepsen_formats_are_detected_or_named() -> None:
    if not CONFORMANCE.exists():
        pytest.skip("no conformance corpus")
    code, out, _ = run(str(CONFORMANCE / "etcd" / "etcd_002.log"))
    assert code == 0 and "linearizability" in out
    code, _, _ = run(str(CONFORMANCE / "kv" / "c10-bad.txt"), "--format", "kv")
    assert code == 1


def test_out_of_time_exits_3(tmp_path: Path) -> None:
    lines = [
        f'{{"index": {i}, "time": {i}, "process": "w{i}", "type": "invoke", "f": "write", "key": "x", "value": {i}}}'
        for i in range(30)
    ]
    n = 30
    for i in range(30):
        lines.append(
            f'{{"index": {n}, "time": {n}, "process": "r", "type": "invoke", "f": "read", "key": "x"}}'
        )
        lines.append(
            f'{{"index": {n + 1}, "time": {n + 1}, "process": "r", "type": "ok", "f": "read", "key": "x", "value": {i}}}'
        )
        n += 2
    lines.append(f'{{"index": {n}, "time": {n}, "process": "r", "type": "invoke", "f": "read", "key": "x"}}')
    lines.append(
        f'{{"index": {n + 1}, "time": {n + 1}, "process": "r", "type": "ok", "f": "read", "key": "x", "value": 0}}'
    )
    p = tmp_path / "hard.jsonl"
    p.write_text("\n".join(lines) + "\n")
    code, out, _ = run(str(p), "--model", "register", "--timeout", "0.2")
    assert code == 3 and "unknown" in out and "out of time" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl"], "cannot open"),
        (["--checker", "nope", "x.jsonl"], "invalid choice"),
        ([], "required"),
        (["--timeout", "soon", "x.jsonl"], "--timeout: expected a number"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_malformed_history_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    p.write_text('{"index": 0, "process": 1, "type": "invoke", "f": "x"}\n{not json\n')
    code, _, err = run(str(p))
    assert code == 2 and "h.jsonl:2" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check(["--help"]) == 0
    assert "HISTORY" in capsys.readouterr().out
