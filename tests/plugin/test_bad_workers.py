"""A ``--harness-worker`` that is not a Worker is a usage error at start-up,
one line, whatever is wrong with it, before any test is collected."""

from __future__ import annotations

import pytest

BAD_WORKERS = """
from reference_system.workers import ResearchWorker


class NoCapability:
    def handle(self, task, ctx):
        return {}


class NoHandle:
    capability = "research"


def a_function():
    return ResearchWorker()


class NeedsArguments(ResearchWorker):
    def __init__(self, model):
        pass


Research = ResearchWorker
"""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "research=bad_workers:NoCapability",
            "bad_workers:NoCapability does not implement the Worker protocol: it has no 'capability'*",
        ),
        (
            "research=bad_workers:NoHandle",
            "bad_workers:NoHandle does not implement the Worker protocol: it has no 'handle' method",
        ),
        (
            "research=bad_workers:a_function",
            "bad_workers:a_function does not implement the Worker protocol: it is a function, not a class",
        ),
        (
            "research=bad_workers:NeedsArguments",
            "bad_workers:NeedsArguments cannot be made with no arguments: TypeError: *",
        ),
        ("research=bad_workers:Missing", "module 'bad_workers' has no 'Missing'*"),
        (
            "research=raises_on_import:Worker",
            "cannot import 'raises_on_import'*: RuntimeError: no network here",
        ),
        ("research=no_such_module:Worker", "cannot import 'no_such_module'*"),
        ("write=bad_workers:Research", "bad_workers:Research serves 'research', not 'write'"),
    ],
)
def test_a_worker_that_is_not_one_is_a_usage_error(
    pytester: pytest.Pytester, spec: str, message: str
) -> None:
    pytester.makepyfile(
        bad_workers=BAD_WORKERS,
        raises_on_import="raise RuntimeError('no network here')\n",
        test_plain="def test_plain():\n    raise AssertionError('never collected')\n",
    )
    r = pytester.runpytest("--harness-worker", spec)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in r.stderr.lines if line.strip()]
    assert len(lines) == 1, r.stderr.str()
    r.stderr.fnmatch_lines([f"ERROR: --harness-worker {spec.partition('=')[0]}: {message}"])
    assert "Traceback" not in r.stderr.str() + r.stdout.str()


def test_a_system_without_workers_to_swap_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(bad_workers=BAD_WORKERS, test_plain="def test_plain():\n    pass\n")
    r = pytester.runpytest(
        "--harness-system",
        "examples.counter.system:system",
        "--harness-worker",
        "research=bad_workers:Research",
    )
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["ERROR: --harness-worker: system counter has no workers to swap*"])
