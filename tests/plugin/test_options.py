"""Options with ini keys, markers, the header line, usage errors."""

from __future__ import annotations

import pytest

HISTORY_TEST = """
def test_uses_history(history):
    assert len(history) == 0
"""


def test_every_option_is_in_the_help_with_its_ini_key(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--help").stdout.str()
    for flag in ("--harness-backend", "--harness-seed", "--harness-report", "--harness-worker"):
        assert flag in out
    for ini in ("harness_backend", "harness_seed", "harness_report", "harness_workers"):
        assert ini in out
    assert "{embedded,localstack,aws}" in out


def test_markers_are_declared_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.harness_chaos(plan="default")
        @pytest.mark.harness_checks("idempotency", "budget")
        def test_marked():
            pass
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)
    out = pytester.runpytest("--markers").stdout.str()
    assert "@pytest.mark.harness_chaos(plan=...)" in out
    assert "@pytest.mark.harness_checks(*checkers" in out


def test_header_names_backend_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HISTORY_TEST)
    r = pytester.runpytest("--harness-seed", "42")
    r.assert_outcomes(passed=1)
    r.stdout.fnmatch_lines(["harness: backend embedded, seed 42"])


def test_ini_keys_are_read(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nharness_seed = 7\nharness_backend = embedded\n")
    pytester.makepyfile(
        HISTORY_TEST
        + """
def test_config(harness_config):
    assert harness_config.seed == 7 and harness_config.backend == "embedded"
"""
    )
    r = pytester.runpytest()
    r.assert_outcomes(passed=2)
    r.stdout.fnmatch_lines(["harness: backend embedded, seed 7"])


def test_the_command_line_beats_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nharness_seed = 7\n")
    pytester.makepyfile(HISTORY_TEST)
    pytester.runpytest("--harness-seed", "8").stdout.fnmatch_lines(["harness: backend embedded, seed 8"])


def test_without_a_seed_one_is_chosen_and_shown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HISTORY_TEST)
    pytester.runpytest().stdout.re_match_lines([r"harness: backend embedded, seed \d+$"])


def test_no_header_line_when_no_test_uses_the_harness(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    r = pytester.runpytest("--harness-seed", "42")
    r.assert_outcomes(passed=1)
    assert "harness:" not in r.stdout.str()


def test_workers_from_the_ini_file_are_the_system_under_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nharness_workers =\n    research=my_workers:Research\n    write=my_workers:Write\n"
    )
    pytester.makepyfile(
        my_workers="from reference_system.workers import ResearchWorker, WriteWorker\n\n"
        "class Research(ResearchWorker):\n    pass\n\nclass Write(WriteWorker):\n    pass\n"
    )
    pytester.makepyfile(
        """
        def test_config(harness_config):
            assert harness_config.system.options["impls"] == {
                "research": "my_workers:Research", "write": "my_workers:Write"
            }
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("spec", ["research", "research=no_colon", "=pkg:Class"])
def test_a_malformed_worker_is_a_usage_error(pytester: pytest.Pytester, spec: str) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    r = pytester.runpytest(f"--harness-worker={spec}")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*expected capability=pkg.module:Class*"])


def test_an_unknown_backend_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    r = pytester.runpytest("--harness-backend", "mainframe")
    assert r.ret == pytest.ExitCode.USAGE_ERROR


def test_an_unknown_checker_in_the_marker_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.harness_checks("telepathy")
        def test_marked(history):
            pass
        """
    )
    r = pytester.runpytest()
    r.assert_outcomes(errors=1)
    r.stdout.fnmatch_lines(["*unknown checker(s) telepathy*"])
