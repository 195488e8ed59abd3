"""``harness check --spec FILE``: a foreign system's declarations, from TOML or JSON."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from harness.checkers.cli_check import EXIT_BAD_INPUT, EXIT_VALID, EXIT_VIOLATION, run_check
from harness.history.jsonl import write_history
from tests.checkers._history import History

REPO = Path(__file__).resolve().parents[2]

SPEC_TOML = """
[state_machine]
initial = "new"
terminal = ["resolved", "rejected"]

[state_machine.transitions]
new = ["triaged"]
triaged = ["resolved", "rejected"]

[idempotency]
repeatable = ["notify"]
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(
        list(argv),
        console=Console(file=out, width=200, color_system=None),
        err=Console(file=err, width=200, color_system=None),
    )
    return code, out.getvalue(), err.getvalue()


def tickets(tmp_path: Path, *, bad: bool = False) -> Path:
    """A correct run of a ticket system (new -> triaged -> resolved); ``bad``:
    one ticket reopened (resolved -> triaged), which its state machine forbids."""
    h = History()
    for t in ("T-1", "T-2"):
        h.call("client", "task.submit", t, {"title": t})
    for t, end in (("T-1", "resolved"), ("T-2", "rejected")):
        h.call("triager", "state.transition", t, {"from": "new", "to": "triaged"})
        h.call("fixer", "state.transition", t, {"from": "triaged", "to": end})
    h.call("fixer", "effect.notify", "T-1")
    h.call("fixer", "effect.notify", "T-1")  # declared repeatable
    if bad:
        h.call("fixer", "state.transition", "T-1", {"from": "resolved", "to": "triaged"})
    path = tmp_path / ("bad.jsonl" if bad else "ok.jsonl")
    write_history(h, path)
    return path


@pytest.fixture
def spec_toml(tmp_path: Path) -> Path:
    p = tmp_path / "tickets.toml"
    p.write_text(SPEC_TOML)
    return p


def test_a_foreign_system_checks_clean_with_its_spec(tmp_path: Path, spec_toml: Path) -> None:
    code, out, err = run(str(tickets(tmp_path)), "--spec", str(spec_toml))
    assert code == EXIT_VALID, out + err
    assert "liveness" in out and "illegal_transition" not in out and "not judged" not in out


def test_without_a_spec_the_task_states_are_not_judged(tmp_path: Path) -> None:
    code, out, _ = run(str(tickets(tmp_path, bad=True)), "--checker", "ordering")
    assert code == EXIT_VALID and "no state machine declared" in out


def test_an_illegal_transition_is_caught(tmp_path: Path, spec_toml: Path) -> None:
    code, out, _ = run(str(tickets(tmp_path, bad=True)), "--spec", str(spec_toml))
    assert code == EXIT_VIOLATION
    assert "illegal_transition" in out and "'resolved' to 'triaged'" in out


def test_a_json_spec_with_per_checker_settings(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "ordering": {
                    "allowed": [["new", "triaged"], ["triaged", "resolved"], ["triaged", "rejected"]]
                },
                "liveness": {"terminal": ["resolved", "rejected"]},
            }
        )
    )
    assert (
        run(str(tickets(tmp_path)), "--spec", str(spec), "--checker", "ordering", "--checker", "liveness")[0]
        == 0
    )
    code, out, _ = run(str(tickets(tmp_path, bad=True)), "--spec", str(spec), "--checker", "ordering")
    assert code == EXIT_VIOLATION and "illegal_transition" in out


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("broken.toml", "[state_machine\n", "is not valid TOML"),
        ("broken.json", "{", "is not valid JSON"),
        ("list.json", "[1, 2]", "must be a table of checker settings"),
        ("unknown.toml", "[orderin]\nallowed = []\n", "unknown section 'orderin'"),
        ("flat.toml", 'ordering = "yes"\n', "'ordering' must be a table of settings"),
        ("sm.toml", '[state_machine]\ninitial = "new"\n', "state machine needs 'transitions'"),
        ("kw.toml", "[ordering]\nalowed = []\n", "unexpected keyword argument 'alowed'"),
        ("lin.toml", "[linearizability]\nfast = true\n", "unknown setting(s) fast"),
    ],
)
def test_a_malformed_spec_is_one_line_and_exit_2(tmp_path: Path, name: str, text: str, message: str) -> None:
    spec = tmp_path / name
    spec.write_text(text)
    code, out, err = run(str(tickets(tmp_path)), "--spec", str(spec))
    assert code == EXIT_BAD_INPUT and not out
    assert err.startswith("harness check: error: ") and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_spec_file_is_exit_2(tmp_path: Path) -> None:
    code, _, err = run(str(tickets(tmp_path)), "--spec", str(tmp_path / "nope.toml"))
    assert code == EXIT_BAD_INPUT and "cannot read spec" in err


def test_through_the_harness_command(tmp_path: Path, spec_toml: Path) -> None:
    ok, bad = tickets(tmp_path), tickets(tmp_path, bad=True)
    cmd = [sys.executable, "-m", "harness.cli", "check"]
    r = subprocess.run([*cmd, str(ok), "--spec", str(spec_toml)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([*cmd, str(bad), "--spec", str(spec_toml)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "illegal_transition" in r.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text("[[[")
    r = subprocess.run([*cmd, str(ok), "--spec", str(broken)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not valid TOML" in r.stderr


def test_settings_from_a_named_system(tmp_path: Path) -> None:
    pytest.importorskip("reference_system.system")
    ref = tmp_path / "ref.jsonl"
    h = History()
    h.call("client", "task.submit", "t1")
    h.call("supervisor", "state.transition", "t1", {"from": "pending", "to": "dispatched"})
    h.call("supervisor", "state.transition", "t1", {"from": "dispatched", "to": "done"})  # skips running
    write_history(h, ref)
    code, out, _ = run(str(ref), "--system", "reference_system.system:system", "--checker", "ordering")
    assert code == EXIT_VIOLATION and "illegal_transition" in out
    code, _, err = run(str(ref), "--system", "no.such.module:system")
    assert code == EXIT_BAD_INPUT and "cannot import" in err
