"""``harness explore`` without simulating: bad input is one line and exit 2;
a campaign replays its corpus first, resumes where it stopped instead of
repeating, and keeps what it found when stopped by Ctrl-C (exit 130). An
executor that judges cases by a rule stands in for the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import harness.explore.cli as explore_cli
from harness.explore.corpus import STATE_FILE, Corpus
from harness.explore.generate import CaseSource
from harness.explore.outcome import Outcome
from harness.sim.case import Case
from harness.system import SystemRef
from tests._cli import Outcome as CliOutcome
from tests._cli import invoke


def explore(*argv: str | Path, bound: float = 120.0) -> CliOutcome:
    result = invoke(["explore", *map(str, argv)], bound=bound)
    assert result.problem() is None or result.code == 130, result.problem()
    return result


class RuleExecutor:
    """Cases "fail" (group rule/bug) when ``rule(case)`` says so; records what it was given."""

    jobs = 1

    def __init__(self, rule: Callable[[dict[str, Any]], bool], stop_after: int | None = None) -> None:
        self.rule = rule
        self.seen: list[dict[str, Any]] = []
        self.stop_after = stop_after
        self.closed = False

    def run(self, cases: Iterable[dict[str, Any]]) -> Iterator[Outcome]:
        for case in cases:
            if self.stop_after is not None and len(self.seen) >= self.stop_after:
                raise KeyboardInterrupt
            self.seen.append(case)
            bad = self.rule(case)
            yield Outcome(case=case, failed=bad, violations=(("rule", "bug"),) if bad else (), stats={})

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def rule_executor(monkeypatch: pytest.MonkeyPatch) -> Callable[..., RuleExecutor]:
    made: list[RuleExecutor] = []

    def install(rule: Callable[[dict[str, Any]], bool], **kw: Any) -> RuleExecutor:
        ex = RuleExecutor(rule, **kw)
        made.append(ex)
        monkeypatch.setattr(explore_cli, "_executor", lambda spec, jobs: ex)
        return ex

    return install


def _never(case: dict[str, Any]) -> bool:
    return False


def _state(corpus: Path) -> dict[str, Any]:
    return json.loads((corpus / STATE_FILE).read_text())


def test_resume_continues_the_sequence_instead_of_repeating_it(tmp_path: Path, rule_executor: Any) -> None:
    corpus = tmp_path / "corpus"
    first = rule_executor(_never)
    r = explore("--seeds", 3, "--seed", 21, "--corpus", corpus)
    assert r.code == 0, r.out
    assert "cases #0..#2" in r.out and "resume:  harness explore" in r.out
    [entry] = _state(corpus)["campaigns"]
    assert entry["seed"] == 21 and entry["next"] == 3

    second = rule_executor(_never)
    r = explore("--seeds", 2, "--corpus", corpus, "--resume")  # the seed: the corpus's latest campaign's
    assert r.code == 0, r.out
    assert "campaign seed 21, cases #3..#4" in r.out
    source = CaseSource(SystemRef(), 21)
    assert [Case.from_json(c).digest() for c in first.seen] == [source[i].digest() for i in range(3)]
    assert [Case.from_json(c).digest() for c in second.seen] == [source[i].digest() for i in (3, 4)]
    assert _state(corpus)["campaigns"][0]["next"] == 5

    # without --resume the sequence starts again from case 0; the state keeps the furthest point
    third = rule_executor(_never)
    assert explore("--seeds", 1, "--seed", 21, "--corpus", corpus).code == 0
    assert Case.from_json(third.seen[0]).digest() == source[0].digest()
    assert _state(corpus)["campaigns"][0]["next"] == 5


def _has_two_requests(case: dict[str, Any]) -> bool:
    return len(case["workload"]) >= 2


def test_failures_are_kept_and_replayed_first_by_the_next_campaign(
    tmp_path: Path, rule_executor: Any
) -> None:
    corpus = tmp_path / "corpus"
    first = rule_executor(_has_two_requests)
    r = explore("--seeds", 8, "--seed", 4, "--corpus", corpus, "--shrink-time", 0)
    failing = [c for c in first.seen if _has_two_requests(c)]
    assert failing, "seed 4 draws no case with two requests in its first 8"
    assert r.code == 1 and "rule/bug" in r.out and "python -m harness.sim replay" in r.out
    kept = sorted((corpus / "rule--bug").glob("case-*.json"))
    assert {Case.load(p).digest() for p in kept} == {Case.from_json(c).digest() for c in failing}
    assert len(list((corpus / "rule--bug").glob("smallest-*.json"))) == 1
    index = (corpus / "index.html").read_text()
    assert "rule: bug" in index

    second = rule_executor(_has_two_requests)
    r = explore("--seeds", 1, "--seed", 99, "--corpus", corpus, "--shrink-time", 0)
    assert r.code == 1, r.out
    stored = {p.read_text() for p in (corpus / "rule--bug").glob("*.json") if p.name != "group.json"}
    replayed_first = [Case.from_json(c).dumps() for c in second.seen[: len(stored)]]
    assert set(replayed_first) == stored  # every corpus case, before any of the campaign's own
    assert "replayed from the corpus" in r.out

    # the bug fixed: the corpus's cases pass on replay, the campaign finds nothing
    rule_executor(_never)
    r = explore("--seeds", 1, "--seed", 99, "--corpus", corpus, "--shrink-time", 0)
    assert r.code == 0 and "no longer fail" in r.out
    info = json.loads((corpus / "rule--bug" / "group.json").read_text())
    assert "passed on replay" in info["message"]


def test_ctrl_c_keeps_what_was_found_prints_the_table_and_exits_130(
    tmp_path: Path, rule_executor: Any
) -> None:
    corpus = tmp_path / "corpus"
    ex = rule_executor(lambda c: True, stop_after=2)
    r = explore("--seeds", 50, "--seed", 8, "--corpus", corpus)
    assert r.code == 130
    assert "interrupted" in r.out and "rule/bug" in r.out and ex.closed
    assert list((corpus / "rule--bug").glob("case-*.json"))
    assert _state(corpus)["campaigns"][0]["next"] == 2  # a resumed campaign starts at the third case
    assert (corpus / "index.html").exists()


def test_a_time_budget_bounds_the_campaign_and_plain_lines_show_progress(
    tmp_path: Path, rule_executor: Any
) -> None:
    ex = rule_executor(_never)
    r = explore("--time-budget", "1.5", "--seed", 2, "--corpus", tmp_path / "corpus")
    assert r.code == 0 and ex.seen, r.out
    assert f"explore: {len(ex.seen)} cases" in r.out and "cases/s, no failures" in r.out
    assert _state(tmp_path / "corpus")["campaigns"][0]["next"] >= len(ex.seen)


def test_closing_the_local_executor_ends_its_worker_processes() -> None:
    import multiprocessing
    import os

    from harness.explore.local import LocalExecutor

    before = {p.pid for p in multiprocessing.active_children()}
    ex = LocalExecutor(2)
    ex.start()
    mine = {p.pid for p in multiprocessing.active_children()} - before
    assert len(mine) == 2
    ex._in_flight = 1  # as if interrupted with cases in flight: the workers are ended, not waited for
    ex.close()
    for pid in mine:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--seeds", "0"], "--seeds"),
        (["--seeds", "many"], "--seeds"),
        (["--seeds", "3", "--time-budget", "5"], "not allowed with"),
        (["--time-budget", "nan"], "--time-budget"),
        (["--jobs", "0"], "--jobs"),
        (["--no-such-flag"], "unrecognized"),
        (["--plan", "{missing}"], "cannot read fault plan"),
        (["--plan", "{bad_plan}"], "--plan"),
        (["--plan", "none", "--faults", "crash"], "not allowed with"),
        (["--faults", "crash,meteor"], "unknown fault kind meteor"),
        (["--faults", ","], "unknown fault kind"),
        (["--system", "no_such_module:system"], "cannot import"),
        (["--system", "harness.cli_parser:EXIT_BAD_INPUT"], "not a harness.system.System"),
        (["--worker", "write"], "--worker"),
        (["--worker", "write=tests.mutants.review_mutants:NoSuchWriter"], "worker"),
        (["--executor", "ftp://example.com"], "expected local or tcp://HOST:PORT"),
        (["--executor", "tcp://127.0.0.1:1"], "--executor tcp://127.0.0.1:1"),
        (["--corpus", "{a_file}"], "is a file"),
        (["--corpus", "{bad_state}", "--resume"], "campaign state"),
        (["--shrink-time", "-1"], "--shrink-time"),
        (["--seed", "-3"], "--seed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, argv: list[str], says: str) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory\n")
    bad_plan = tmp_path / "plan.json"
    bad_plan.write_text('{"faults": [{"kind": "meteor"}]}')
    bad_state = tmp_path / "corpus-with-bad-state"
    bad_state.mkdir()
    (bad_state / STATE_FILE).write_text("{not json")
    paths = {
        "missing": tmp_path / "missing.json",
        "bad_plan": bad_plan,
        "a_file": a_file,
        "bad_state": bad_state,
    }
    argv = [a.format(**paths) for a in argv]
    if "--corpus" not in argv:
        argv += ["--corpus", str(tmp_path / "corpus")]
    r = invoke(["explore", *argv], bound=120)
    assert r.problem() is None, r.problem()
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.count("\n") == 1 and r.err.startswith("harness explore: error: "), r.err
    assert says in r.err, r.err


def test_the_corpus_keeps_a_bounded_number_of_cases_per_group(tmp_path: Path) -> None:
    from harness.explore.corpus import MAX_KEPT

    corpus = Corpus(tmp_path / "c")
    source = CaseSource(SystemRef(), 5)
    kept = [corpus.save_failure(source[i], b"{}\n", ("x", "y")) for i in range(2, MAX_KEPT + 6)]
    assert sum(p is not None for p in kept) == MAX_KEPT
    first = corpus.save_smallest(source[2], b"{}\n", ("x", "y"))
    second = corpus.save_smallest(source[3], b"{}\n", ("x", "y"))
    assert not first.exists() and second.exists() and second.with_suffix(".history.jsonl").exists()
