"""``--harness-explore SECONDS`` adds a time-boxed campaign to the property
suite, its failures kept in the corpus; the suite replays the corpus's cases
of its system first, so a failure found once fails every later run until it
is fixed; a bad number is a usage error before anything runs."""

from __future__ import annotations

import pytest

from tests.plugin.test_seed_and_knobs import _pytest

SUITE = """
from harness.suite import SystemProperties


class TestMine(SystemProperties):
    max_examples = {name: 1 for name in SystemProperties.max_examples}
"""

LEAKY = """
import dataclasses

from harness.system import load_system


def leaky():
    ref = load_system()
    impls = {"write": "my_workers:LeakyWriter"}
    return dataclasses.replace(ref, name="leaky", options={**ref.options, "impls": impls}, spec="")
"""

WORKERS = """
from reference_system.workers import WriteWorker


class LeakyWriter(WriteWorker):
    '''Puts a credential in the brief it writes.'''

    def handle(self, task, ctx):
        out = super().handle(task, ctx)
        out["title"] = "notes; aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        return out
"""


def test_a_campaign_finds_keeps_and_the_corpus_replays_first(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE, my_system=LEAKY, my_workers=WORKERS)
    report = pytester.path / "report"
    leaky = ("--harness-system", "my_system:leaky", "--harness-report", str(report), "--harness-seed", "1")
    found = _pytest(pytester.path, "-k", "explore_campaign", "--harness-explore", "8", *leaky)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "ExplorationFound" in found.stdout and "findings/" in found.stdout and "replay: " in found.stdout
    kept = sorted((report / "corpus").glob("*/*.json"))
    assert [p for p in kept if p.name != "group.json"]

    # Later runs, without a campaign: the kept case fails first, the campaign is not collected.
    again = _pytest(pytester.path, "-k", "corpus", *leaky)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "still fails" in again.stdout and "replay: python -m harness.sim replay" in again.stdout
    listed = _pytest(pytester.path, "--collect-only", "-q", *leaky)
    assert "test_corpus_cases_still_pass" in listed.stdout and "test_explore_campaign" not in listed.stdout

    # The corpus of another system is not this system's regression test.
    fixed = _pytest(pytester.path, "-k", "corpus", "--harness-corpus", str(report / "corpus"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


@pytest.mark.parametrize("value", ["-3", "0", "soon", "inf"])
def test_a_bad_number_of_seconds_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    pytester.makepyfile(test_suite=SUITE)
    p = _pytest(pytester.path, "--collect-only", "--harness-explore", value)
    assert p.returncode == 4, p.stdout + p.stderr
    assert "--harness-explore: expected a number of seconds above zero" in p.stderr
    assert "Traceback" not in p.stderr
