"""A campaign: the corpus's cases replayed first, then generated cases run
(``jobs`` at a time, wherever the executor runs them) until the count or the
time is spent; every failure kept in the corpus and grouped by the invariant
it violates; each group shrunk to its smallest failing case; the reports and
the index written; where the campaign stopped recorded for ``--resume``.

Ctrl-C stops it: the cases in flight are abandoned (a resumed campaign runs
them again), shrinking is skipped or cut short, and what was found is kept
and written out all the same.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.explore.corpus import Corpus, Stored, group_slug
from harness.explore.generate import CaseSource
from harness.explore.outcome import Executor, Outcome
from harness.explore.progress import CampaignProgress
from harness.explore.shrink import Shrinker, describe_size, size
from harness.faults.plan import FaultPlan
from harness.sim.case import Case, replay_command
from harness.system import DEFAULT_SYSTEM, SystemRef


@dataclass(frozen=True)
class Settings:
    """What a campaign explores and for how long."""

    system: SystemRef = field(default_factory=SystemRef)
    seed: int = 1
    #: Generated cases to run (None: until ``time_budget`` is spent).
    seeds: int | None = 100
    time_budget: float | None = None
    kinds: tuple[str, ...] | None = None
    plan: FaultPlan | None = None
    resume: bool = False
    #: Seconds to shrink each group (0: do not shrink).
    shrink_seconds: float = 60.0
    shrink_runs: int = 300


@dataclass
class Group:
    """The failures of one violated invariant."""

    group: tuple[str, str]
    smallest: Case
    outcome: Outcome
    #: Order of the smallest: (size, campaign index; -1 for a corpus case).
    rank: tuple[Any, ...]
    cases: int = 0
    first_index: int | None = None
    first_seed: int | None = None
    from_corpus: bool = False
    #: The smallest came out of a shrink (this campaign's or an earlier one's).
    shrunk: bool = False
    path: Path | None = None
    report: Path | None = None
    message: str = ""
    shrink_runs: int = 0

    @property
    def first(self) -> str:
        if self.first_index is not None:
            return f"seed {self.first_seed} (case #{self.first_index})"
        return "corpus"

    def replay(self) -> str:
        return replay_command(self.path) if self.path else ""


@dataclass
class CampaignResult:
    seed: int
    start: int
    next: int = 0
    cases_run: int = 0
    repeats: int = 0
    replayed: int = 0
    #: Corpus cases that no longer fail.
    passed_on_replay: list[Path] = field(default_factory=list)
    #: Corpus cases of another system (or options), not replayed.
    other_system: int = 0
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    interrupted: bool = False
    #: Why the executor could not go on (a lost cluster), one line; the campaign stopped there.
    error: str = ""
    #: Seconds of the whole campaign, and of running its cases (the corpus's and its own; no shrinking).
    seconds: float = 0.0
    case_seconds: float = 0.0
    #: What ran, in the order outcomes came back: a case index, or a corpus file name.
    order: list[int | str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.groups)

    def failures(self) -> Counter[str]:
        return Counter({f"{g[0]}/{g[1]}": grp.cases for g, grp in self.groups.items()})


def _key(case: dict[str, Any]) -> str:
    return json.dumps(case, sort_keys=True)


def same_system(case: Case, system: SystemRef) -> bool:
    return (case.system or DEFAULT_SYSTEM) == (system.spec or DEFAULT_SYSTEM) and dict(case.options) == dict(
        system.options
    )


class Campaign:
    """One campaign over ``corpus`` (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        executor: Executor,
        corpus: Corpus,
        progress: CampaignProgress | None = None,
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.corpus = corpus
        self.source = CaseSource(settings.system, settings.seed, kinds=settings.kinds, plan=settings.plan)
        self.progress = progress or CampaignProgress(settings.seeds, live=False)
        self._meta: dict[str, tuple[str, Any]] = {}
        self._completed: set[int] = set()
        self._state_written = 0.0

    def start_index(self) -> int:
        """Where the campaign starts: 0, or with ``resume`` where the corpus says the seed's sequence stopped."""
        if not self.settings.resume:
            return 0
        entry = self.corpus.campaign(self.settings.seed, self.source.fingerprint())
        return int(entry.get("next", 0)) if entry else 0

    # -- running -----------------------------------------------------------------

    def run(self) -> CampaignResult:
        t0 = time.monotonic()
        res = CampaignResult(seed=self.settings.seed, start=self.start_index())
        res.next = res.start
        stored = self._corpus_cases(res)
        if self.progress.total is not None:
            self.progress.total += len(stored)
        with self.progress:
            if stored:
                self.progress.note(f"explore: replaying {len(stored)} corpus case(s) first")
            try:
                for out in self.executor.run(self._stream(res, stored, t0)):
                    self._take(out, res)
                    self.progress.update(res.cases_run + res.replayed + res.repeats, res.failures())
                    self._save_state(res)
            except KeyboardInterrupt:
                res.interrupted = True
                self.executor.close()
            except OSError as e:  # the executor cannot go on (a cluster lost): keep what was found
                res.error = " ".join(str(e).split()) or type(e).__name__
            self._save_state(res, force=True)
        res.case_seconds = time.monotonic() - t0
        if not res.interrupted and not res.error and self.settings.shrink_seconds > 0:
            try:
                self._shrink_all(res)
            except KeyboardInterrupt:
                res.interrupted = True
                self.executor.close()
        self._finish(res)
        res.seconds = time.monotonic() - t0
        return res

    def _corpus_cases(self, res: CampaignResult) -> list[Stored]:
        mine = []
        for s in self.corpus.cases():
            if same_system(s.case, self.settings.system):
                mine.append(s)
            else:
                res.other_system += 1
        return mine

    def _stream(self, res: CampaignResult, stored: list[Stored], t0: float) -> Iterator[dict[str, Any]]:
        """The corpus's cases, then the campaign's, drawn only as they are wanted."""
        for s in stored:
            d = s.case.to_json()
            if _key(d) not in self._meta:
                self._meta[_key(d)] = ("corpus", s)
                yield d
        s = self.settings
        end = None if s.seeds is None else res.start + s.seeds
        deadline = None if s.time_budget is None else t0 + s.time_budget
        i = res.start - 1
        while True:
            i += 1
            if (end is not None and i >= end) or (deadline is not None and time.monotonic() >= deadline):
                return
            d = self.source[i].to_json()
            if _key(d) in self._meta:  # drawn before (each block starts with the simplest case)
                res.repeats += 1
                self._done(i, res)
                continue
            self._meta[_key(d)] = ("case", i)
            yield d

    def _done(self, i: int, res: CampaignResult) -> None:
        self._completed.add(i)
        while res.next in self._completed:
            self._completed.discard(res.next)
            res.next += 1

    def _take(self, out: Outcome, res: CampaignResult) -> None:
        kind, ref = self._meta.get(_key(out.case), ("case", None))
        case = Case.from_json(out.case)
        if kind == "case":
            res.cases_run += 1
            if ref is not None:  # (an executor that changed the case on its way back: not counted as done)
                res.order.append(ref)
                self._done(ref, res)
        else:
            res.replayed += 1
            res.order.append(ref.path.name)
            if not out.failed:
                res.passed_on_replay.append(ref.path)
        if not out.failed:
            return
        group = out.group
        index = ref if kind == "case" else None
        rank = (size(case), -1 if kind == "corpus" else (index if index is not None else 1 << 62))
        g = res.groups.get(group)
        if g is None:
            g = res.groups[group] = Group(group, case, out, rank)
        g.cases += 1
        if kind == "corpus":
            g.from_corpus = True
        elif index is not None and (g.first_index is None or index < g.first_index):
            g.first_index, g.first_seed = index, case.seed
        if kind == "case":
            self.corpus.save_failure(case, out.history, group)
        if rank <= g.rank:
            g.smallest, g.outcome, g.rank = case, out, rank
            g.shrunk = kind == "corpus" and ref.path.name.startswith("smallest-")

    def _save_state(self, res: CampaignResult, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._state_written < 1.0:
            return
        self._state_written = now
        entry = self.corpus.campaign(self.settings.seed, self.source.fingerprint())
        furthest = max(res.next, int(entry.get("next", 0)) if entry else 0)
        self.corpus.record_campaign(
            self.settings.seed,
            self.source.fingerprint(),
            furthest,
            system=self.settings.system.spec or DEFAULT_SYSTEM,
            options=dict(self.settings.system.options),
            kinds=list(self.settings.kinds) if self.settings.kinds is not None else None,
        )

    # -- shrinking -----------------------------------------------------------------

    def _shrink_all(self, res: CampaignResult) -> None:
        for group in sorted(res.groups):
            g = res.groups[group]
            if g.shrunk:
                continue
            label = f"{group[0]}/{group[1]}"
            self.progress.note(f"explore: shrinking {label} from {describe_size(g.smallest)}")
            shrinker = Shrinker(
                g.smallest,
                g.outcome,
                self.executor.run,
                width=self.executor.jobs,
                seconds=self.settings.shrink_seconds,
                max_runs=self.settings.shrink_runs,
            )
            try:
                shrinker.run()
            finally:
                g.smallest, g.outcome, g.shrunk = shrinker.best, shrinker.outcome, True
                g.shrink_runs = shrinker.runs
            done = "" if shrinker.complete else " (stopped at its bound)"
            self.progress.note(
                f"explore: {label} shrunk to {describe_size(g.smallest)} in {shrinker.runs} runs{done}"
            )

    # -- writing -------------------------------------------------------------------

    def _finish(self, res: CampaignResult) -> None:
        from harness.explore.index import write_group_report, write_index

        for group, g in sorted(res.groups.items()):
            g.path = self.corpus.save_smallest(g.smallest, g.outcome.history, group)
            try:
                g.report, g.message = write_group_report(g.path, g.smallest, g.outcome, group)
            except Exception as e:  # a report that cannot be built must not lose the campaign
                g.message = f"(no report: {type(e).__name__}: {e})".splitlines()[0]
            self.corpus.write_group(
                group,
                {
                    "checker": group[0],
                    "kind": group[1],
                    "message": g.message,
                    "first": g.first,
                    "cases": g.cases,
                    "smallest": g.path.name,
                    "size": describe_size(g.smallest),
                    "replay": g.replay(),
                    "campaign_seed": res.seed,
                    "system": self.settings.system.describe(),
                    "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
                },
            )
        self._mark_passing(res)
        write_index(self.corpus)

    def _mark_passing(self, res: CampaignResult) -> None:
        """A group of the corpus whose every case passed its replay says so."""
        passed = {p.parent.name for p in res.passed_on_replay}
        failing = {group_slug(g) for g in res.groups}
        for info in self.corpus.groups():
            d = info.get("dir")
            if d in passed and d not in failing:
                info = {k: v for k, v in info.items() if k != "dir"}
                if "(passed on replay" not in str(info.get("message", "")):
                    info["message"] = (
                        f"{info.get('message', '')} (passed on replay, campaign seed {res.seed})"
                    )
                self.corpus.write_group((str(info.get("checker", "")), str(info.get("kind", ""))), info)


__all__ = ["Campaign", "CampaignResult", "Group", "Settings"]
