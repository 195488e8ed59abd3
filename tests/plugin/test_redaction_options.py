"""The redaction ini keys and options reach the test's history, and the
environment agent processes inherit. Subprocess runs: the options change the
process's redaction settings."""

from __future__ import annotations

import pytest

TEST = r"""
import os

def test_redacted(history):
    history.record("w", "ok", "note", "k", {"badge": "EMP-123456", "pin": "0000", "mail": "a.b@example.com",
                                            "key": "AKIAIOSFODNN7EXAMPLE"})
    (op,) = history.ops
    v = op.value
    assert v["badge"].startswith("[redacted:employee_id:"), v
    assert v["pin"].startswith("[redacted:secret_field:"), v
    assert v["key"].startswith("AKIA…[redacted:aws_access_key_id:"), v
    assert (v["mail"] == "a.b@example.com") is (os.environ.get("WANT_PERSONAL") != "1"), v
    assert "employee_id=EMP" in os.environ["HARNESS_REDACT_PATTERNS"]
"""


def test_ini_keys_add_patterns_and_fields(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini(
        "[pytest]\nharness_redact_patterns =\n    employee_id=EMP-\\d{6}\nharness_redact_fields = pin\n"
    )
    pytester.makepyfile(TEST)
    for name in ("HARNESS_REDACT_PATTERNS", "HARNESS_REDACT_PERSONAL", "WANT_PERSONAL"):
        monkeypatch.delenv(name, raising=False)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_options_add_patterns_fields_and_personal_data(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(TEST)
    monkeypatch.setenv("WANT_PERSONAL", "1")
    r = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--harness-redact-pattern",
        r"employee_id=EMP-\d{6}",
        "--harness-redact-field",
        "pin",
        "--harness-redact-personal",
    )
    r.assert_outcomes(passed=1)


def test_a_malformed_pattern_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST)
    r = pytester.runpytest_subprocess("--harness-redact-pattern", "bad=(")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*--harness-redact-pattern: redaction pattern 'bad=('*"])
