"""Discovery: `chaos discover --no-install mas-harness` lists
every activity, with the signatures and one-line docstrings that document it."""

from __future__ import annotations

import inspect
import json
import subprocess
from pathlib import Path

import pytest

from harness.chaos import DISTRIBUTION, actions, discover, probes
from tests.chaos.conftest import CHAOS

EXPECTED = {
    ("action", n)
    for n in [
        "apply_fault_plan",
        "clear_fault_plans",
        "kill_worker",
        "pause_worker",
        "partition_agent",
        "heal",
    ]
} | {("probe", n) for n in ["invariants_hold", "queue_depth", "dlq_is_empty", "tasks_in_flight"]}


def test_every_exported_function_is_a_plain_activity() -> None:
    for mod in (actions, probes):
        for name in mod.__all__:
            fn = getattr(mod, name)
            doc = inspect.getdoc(fn) or ""
            assert doc and "\n" not in doc, f"{name}: one-line docstring"
            params = list(inspect.signature(fn).parameters.values())
            assert [p.name for p in params[-2:]] == ["configuration", "secrets"]
            assert all(p.default is None for p in params[-2:])
            assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)


def test_discover_lists_actions_and_probes() -> None:
    d = discover(discover_system=True)
    found = {(a["type"], a["name"]) for a in d["activities"]}
    assert found >= EXPECTED
    assert found == {("action", n) for n in actions.__all__} | {("probe", n) for n in probes.__all__}
    assert {a["mod"] for a in d["activities"]} == {"harness.chaos.actions", "harness.chaos.probes"}
    assert d["extension"]["name"] == DISTRIBUTION and "fault_kinds" in d["system"]
    kinds = {a["name"]: {x["name"]: x.get("type") for x in a["arguments"]} for a in d["activities"]}
    assert (
        kinds["kill_worker"]["restart_after"] == "number" and kinds["apply_fault_plan"]["plan"] == "mapping"
    )


def test_chaos_discover_finds_the_installed_distribution(tmp_path: Path) -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(DISTRIBUTION)
    except PackageNotFoundError:
        pytest.fail(f"{DISTRIBUTION} is not installed: pip install -e . (make does)")
    out = tmp_path / "discovery.json"
    r = subprocess.run(
        [str(CHAOS), "discover", "--no-install", "--discovery-path", str(out), DISTRIBUTION],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    found = {(a["type"], a["name"]) for a in json.loads(out.read_text())["activities"]}
    assert found >= EXPECTED
