"""A run that uses no harness fixture or marker is the same with the plugin
as without it: same outcomes, same output, no imports beyond the plugin
module, no files, no environment changes, no threads."""

from __future__ import annotations

import json
import re

import pytest

PROJECT = {
    "test_plain": """
        import pytest

        def test_pass():
            assert 1 + 1 == 2

        def test_fail():
            assert 1 + 1 == 3

        @pytest.mark.skip(reason="not today")
        def test_skip():
            pass

        @pytest.mark.parametrize("n", [1, 2])
        def test_param(n, tmp_path):
            (tmp_path / "f").write_text(str(n))
        """,
    "conftest": """
        import json, os, sys, threading

        def pytest_sessionfinish(session):
            out = os.environ["SNAPSHOT"]
            with open(out, "w") as fh:
                json.dump({
                    "modules": sorted(sys.modules),
                    "environ": dict(os.environ),
                    "threads": sorted(t.name for t in threading.enumerate()),
                }, fh)
        """,
}


def _run(
    pytester: pytest.Pytester, mp: pytest.MonkeyPatch, name: str, *args: str
) -> tuple[pytest.RunResult, dict]:
    snap = pytester.path.parent / f"{name}.json"
    mp.setenv("SNAPSHOT", str(snap))
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    return r, json.loads(snap.read_text())


def _normal(text: str) -> str:
    text = re.sub(r" in [\d.]+s", " in Ns", text)
    return re.sub(r"(rootdir|platform|plugins|cachedir): .*", r"\1: -", text)


def test_the_plugin_changes_nothing_in_a_run_that_does_not_use_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(**PROJECT)

    without, snap_without = _run(pytester, monkeypatch, "without", "-p", "no:harness")
    files_without = {p.name for p in pytester.path.iterdir()}
    with_, snap_with = _run(pytester, monkeypatch, "with")
    files_with = {p.name for p in pytester.path.iterdir()}

    assert with_.ret == without.ret == pytest.ExitCode.TESTS_FAILED
    assert with_.parseoutcomes() == without.parseoutcomes() == {"passed": 3, "failed": 1, "skipped": 1}
    assert _normal(with_.stdout.str()) == _normal(without.stdout.str())
    # nothing written next to the tests but pytester's own temporary directory for the run
    assert files_with - files_without == {"runpytest-1"}
    # the plugin module, and nothing of what it loads for a harness test (boto3, moto, the simulator)
    extra = set(snap_with["modules"]) - set(snap_without["modules"])
    assert extra <= {"harness", "harness.pytest_plugin"}, extra
    env_with = {k: v for k, v in snap_with["environ"].items() if k not in ("PYTEST_CURRENT_TEST", "SNAPSHOT")}
    env_without = {
        k: v for k, v in snap_without["environ"].items() if k not in ("PYTEST_CURRENT_TEST", "SNAPSHOT")
    }
    assert env_with == env_without
    assert snap_with["threads"] == snap_without["threads"]
