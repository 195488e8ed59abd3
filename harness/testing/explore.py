"""The property suite's side of exploration: the corpus replayed first, and
``--harness-explore SECONDS`` turning the suite into a time-boxed campaign.

A corpus (``--harness-corpus DIR``, the ``harness_corpus`` ini key; a
directory ``harness explore`` writes) holds every failing case found once.
:func:`replay_corpus` runs this system's cases of it again with the
checkers they were found with, and fails on the first that still fails: a
failure found once stays a regression test. :func:`explore` runs a campaign
(:mod:`harness.explore`) against the system for the time given, on every CPU
of the machine, into the same corpus; it fails with the campaign's groups
(the violated invariant, its smallest case, the command replaying it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.system import SystemRef

#: Where a campaign run by the suite keeps its corpus when none is given.
DEFAULT_CORPUS = "corpus"


class CorpusCaseFails(AssertionError):
    """A case kept in the corpus still fails."""


class ExplorationFound(AssertionError):
    """A time-boxed campaign found a violation."""


def corpus_dir(config: Any) -> Path | None:
    """The suite's corpus: ``--harness-corpus``, else ``REPORT_DIR/corpus``
    when there is a report directory, else none."""
    if getattr(config, "corpus_dir", None) is not None:
        return Path(config.corpus_dir)
    if getattr(config, "report_dir", None) is not None:
        return Path(config.report_dir) / DEFAULT_CORPUS
    return None


def replay_corpus(system: SystemRef, corpus: Path | None) -> int:
    """Replay ``system``'s cases kept in ``corpus`` (nothing without one);
    raise :class:`CorpusCaseFails` at the first that still fails. Returns
    how many were replayed."""
    if corpus is None or not corpus.is_dir():
        return 0
    from harness.explore.campaign import same_system
    from harness.explore.corpus import Corpus
    from harness.explore.outcome import run_case
    from harness.sim.case import replay_command

    n = 0
    for stored in Corpus(corpus).cases():
        if not same_system(stored.case, system):
            continue
        out = run_case(stored.case.to_json())
        n += 1
        if out.failed:
            what = out.error or ", ".join(f"{c}/{k}" for c, k in out.violations)
            raise CorpusCaseFails(
                f"a case kept in the corpus still fails ({what}):\n{stored.case.describe()}\n\n"
                f"replay: {replay_command(stored.path)}"
            )
    return n


def explore(system: SystemRef, seconds: float, corpus: Path, seed: int, jobs: int | None = None) -> Any:
    """Run a campaign against ``system`` for ``seconds`` into ``corpus``;
    raise :class:`ExplorationFound` with its groups if it found a violation.
    Returns the campaign's result."""
    from harness.explore.campaign import Campaign, Settings
    from harness.explore.corpus import Corpus
    from harness.explore.local import LocalExecutor
    from harness.explore.progress import CampaignProgress

    # Shrinking comes after the budget: a quarter of it again, per group.
    settings = Settings(
        system=system, seed=seed, seeds=None, time_budget=seconds, shrink_seconds=max(5.0, seconds / 4)
    )
    executor = LocalExecutor(jobs=jobs or os.cpu_count() or 1)
    try:
        result = Campaign(settings, executor, Corpus(corpus), CampaignProgress(None, live=False)).run()
    finally:
        executor.close()
    if result.found:
        lines = [
            f"a {seconds:g} s campaign (seed {seed}, {result.cases_run} cases) against "
            f"{system.describe()} found {len(result.groups)} violated invariant(s):"
        ]
        for (checker, kind), g in sorted(result.groups.items()):
            lines.append(f"- {checker}/{kind}: {g.cases} case(s), first {g.first}; {g.message}".rstrip("; "))
            if g.path is not None:
                lines.append(f"  replay: {g.replay()}")
        lines.append(f"corpus: {corpus}")
        raise ExplorationFound("\n".join(lines))
    return result


__all__ = [
    "DEFAULT_CORPUS",
    "CorpusCaseFails",
    "ExplorationFound",
    "corpus_dir",
    "explore",
    "replay_corpus",
]
