"""The harness seed decides the property suite's cases (and no example
database carries a failure from one worker to the next); a suite failure
prints the commands that replay it; the ``sim`` fixture takes the knobs of a
:class:`~harness.sim.case.Case`. The suite runs with a stand-in for
``check_case`` (a conftest hook) so that drawing cases costs no simulation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

#: Records every case the suite draws (property, digest), one a line, in
#: $CASES; with $FAIL set, every case fails (a planted bug on every seed).
RECORDING_CONFTEST = """
import os
from pathlib import Path

import harness.suite as suite


def _record(case, prop="survives_worker_faults", *, report_dir=None):
    name = prop if isinstance(prop, str) else prop.name
    with open(os.environ["CASES"], "a") as fh:
        fh.write(f"{name} {case.digest()}\\n")
    if os.environ.get("FAIL"):
        raise suite.PropertyFailed(f"planted\\n\\nreplay: python -m harness.sim replay x", case, Path("x"))


suite.check_case = _record
"""

#: The real check for the first case drawn; its failure again for every
#: later one, so shrinking costs no simulation.
ONCE_CONFTEST = """
import harness.suite as suite

_real, _first = suite.check_case, []


def _once(case, prop="survives_worker_faults", *, report_dir=None):
    if _first:
        raise _first[0]
    try:
        return _real(case, prop, report_dir=report_dir)
    except suite.PropertyFailed as e:
        _first.append(e)
        raise


suite.check_case = _once
"""

SUITE = """
from harness.suite import SystemProperties


class TestMine(SystemProperties):
    max_examples = {
        "split_brain_is_safe": 2,
        "survives_model_faults": 3,
        "survives_worker_faults": 3,
        "survives_supervisor_faults": 2,
    }
"""

MY_WORKERS = """
from reference_system.workers import ResearchWorker


class Plain(ResearchWorker):
    pass


class FetchTwice(ResearchWorker):
    '''Fetches its sources before asking the model, with no idempotency key.'''

    def handle(self, task, ctx):
        subtopic = task.inputs.get("subtopic", task.topic)
        ctx.recorder.run("effect.fetch", task.subtask_id, lambda: None)
        c = ctx.complete(
            "research", f"List sourced facts about {subtopic}.",
            {"subtopic": subtopic, "subtask_id": task.subtask_id},
        )
        return {"facts": list(c.output["facts"])}
"""


def _pytest(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` in ``cwd`` as a user starts it: no ``PYTHONPATH``
    (pytester's own subprocess runs put the test directory on it)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _draws(pytester: pytest.Pytester, name: str, *args: str, fail: bool = False) -> list[str]:
    """The cases one suite run drew, in order."""
    out = pytester.path.parent / f"{name}.cases"
    p = _pytest(pytester.path, *args, CASES=str(out), **({"FAIL": "1"} if fail else {}))
    assert p.returncode == (1 if fail else 0), p.stdout + p.stderr
    return out.read_text().splitlines()


def test_the_same_harness_seed_draws_the_same_cases(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    first = _draws(pytester, "a", "--harness-seed", "7")
    assert len(first) >= 8
    assert _draws(pytester, "b", "--harness-seed", "7") == first
    assert _draws(pytester, "c", "--harness-seed", "8") != first
    # --hypothesis-seed alone decides the draws (and repeats them) when no harness seed is given
    by_hypothesis = _draws(pytester, "d", "--hypothesis-seed", "5")
    assert _draws(pytester, "e", "--hypothesis-seed", "5") == by_hypothesis


def test_one_workers_failure_is_not_replayed_against_the_next(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_suite=SUITE, my_workers=MY_WORKERS)
    fresh = _draws(pytester, "fresh", "--harness-seed", "3", "--harness-worker", "research=my_workers:Plain")
    failing = ("--harness-seed", "3", "--harness-worker", "research=my_workers:FetchTwice")
    assert _draws(pytester, "failing", *failing, "-k", "worker_faults", fail=True)
    after = _draws(pytester, "after", "--harness-seed", "3", "--harness-worker", "research=my_workers:Plain")
    assert after == fresh
    assert not (pytester.path / ".hypothesis" / "examples").exists()


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as a user's shell would, with this interpreter's ``python`` and ``pytest`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_suite_failure_prints_the_replay_and_the_pytest_command(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(ONCE_CONFTEST)
    pytester.makepyfile(test_suite=SUITE, my_workers=MY_WORKERS)
    args = ("--harness-seed", "7", "--harness-worker", "research=my_workers:FetchTwice")
    r = _pytest(pytester.path, *args, "-k", "model_faults")
    out = r.stdout
    assert r.returncode == 1 and "1 failed" in out, out + r.stderr
    root = str(pytester.path)
    replay = re.search(r"replay: (PYTHONPATH=\S+ python -m harness\.sim replay \S+)$", out, re.M)
    rerun = re.search(r"rerun:  (PYTHONPATH=\S+ pytest \S+ .*)$", out, re.M)
    assert replay is not None and rerun is not None, out
    assert replay.group(1).startswith(f"PYTHONPATH={root} ")
    assert rerun.group(1) == (
        f"PYTHONPATH={root} pytest test_suite.py::TestMine::test_survives_model_faults "
        "--harness-seed 7 --harness-worker research=my_workers:FetchTwice"
    )
    # Both run as printed, from elsewhere: the replay fails the same way, the rerun fails again on the same case.
    elsewhere = pytester.mkdir("elsewhere")
    p = _shell(replay.group(1), elsewhere)
    assert p.returncode == 1 and p.stdout.rstrip().endswith("FAIL"), p.stdout + p.stderr
    case_file = Path(replay.group(1).rsplit(" ", 1)[1]).name
    p = _shell(f"{rerun.group(1)} -p no:cacheprovider", pytester.path)
    assert p.returncode == 1 and case_file in p.stdout, p.stdout + p.stderr


SIM_TESTS = """
import pytest


def _agents(result):
    return {o.process for o in result.ops if "/" not in o.process}


def test_knobs_as_keyword_arguments(sim):
    result = sim(requests=1, workers=2, supervisors=2, max_virtual_seconds=600)
    assert {"research-2", "write-2", "review-2", "supervisor-2"} <= _agents(result)


@pytest.mark.harness_sim(workers=2, supervisors=2)
def test_knobs_from_the_marker(sim):
    case = sim.case(1)
    assert (case.workers, case.supervisors) == (2, 2)
    assert sim.case(1, supervisors=1).supervisors == 1


def test_system_options_as_keyword_arguments(sim):
    assert sim.case(1, reads="eventual").options["reads"] == "eventual"


def test_bad_knobs_are_refused(sim):
    with pytest.raises(ValueError, match="supervisors must be a whole number"):
        sim.case(1, supervisors=0)
    with pytest.raises(TypeError, match="unexpected keyword 'worker'"):
        sim.case(1, worker=2)
"""


def test_the_sim_fixture_takes_the_knobs_of_a_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_knobs=SIM_TESTS)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--harness-seed", "2", "--strict-markers")
    r.assert_outcomes(passed=4)
    r.stdout.fnmatch_lines(["harness: backend embedded, seed 2"])
