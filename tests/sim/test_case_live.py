"""A case judged on safety alone (``Case.live`` False, as split-brain cases
are): liveness is not asked of it, what is lost or done twice still is; the
flag survives its file, and a campaign draws such cases by default."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from harness.explore.generate import CaseSource
from harness.sim.case import Case
from harness.sim.checks import failures
from harness.system import SystemRef

WL = [{"request_id": "r0", "token_budget": 4000, "topic": "tides"}]


def test_a_run_cut_short_fails_liveness_only_when_live() -> None:
    short = Case.of(1, WL, max_virtual_seconds=0.5)
    _, live = short.run()
    assert {v.checker for v in failures(live)} >= {"liveness"}
    _, safety = dataclasses.replace(short, live=False).run()
    assert not failures(safety)
    assert "liveness" not in {v.checker for v in safety}


def test_a_lost_update_fails_a_safety_only_case_too(tmp_path: Path) -> None:
    from harness.suite import run_property
    from tests.mutants.mutants import MUTANTS, subject

    mutant = subject(MUTANTS["read-modify-write without a condition"])
    out = run_property("split_brain_is_safe", mutant, max_examples=12, report_dir=tmp_path)
    assert out.failure is not None
    saved = Case.load(out.failure.path)
    assert not saved.live and saved.supervisors == 2  # replayed as the property judged it
    _, verdicts = saved.run()
    assert failures(verdicts)
    assert not {"liveness", "retries"} & {v.checker for v in verdicts}


def test_the_flag_survives_the_case_file_and_older_files_stay_live() -> None:
    case = dataclasses.replace(Case.of(1, WL), live=False)
    assert Case.from_json(json.loads(case.dumps())) == case
    assert "safety only" in case.describe()
    assert "live" not in Case.of(1, WL).to_json()
    assert Case.from_json({"seed": 1, "workload": WL}).live


def test_campaigns_draw_split_brain_cases_judged_on_safety() -> None:
    source = CaseSource(SystemRef(), 1)
    drawn = [source[i] for i in range(100)]
    brains = [c for c in drawn if c.supervisors == 2]
    assert brains and all(not c.live for c in brains)
    assert all(c.live for c in drawn if c.supervisors == 1)
