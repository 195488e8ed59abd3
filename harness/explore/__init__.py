"""Exploration campaigns: many generated cases run against a system under
test, on this machine or a Dask cluster; failures kept in a corpus, grouped
by the invariant they violate and shrunk (``harness explore``, see
``docs/explore.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.explore.outcome import Executor, Outcome, run_case

if TYPE_CHECKING:
    from harness.explore.campaign import Campaign, CampaignResult, Settings
    from harness.explore.corpus import Corpus
    from harness.explore.generate import CaseSource
    from harness.explore.local import LocalExecutor
    from harness.explore.shrink import Shrinker

_LAZY = {
    "Campaign": "harness.explore.campaign",
    "CampaignResult": "harness.explore.campaign",
    "Settings": "harness.explore.campaign",
    "Corpus": "harness.explore.corpus",
    "CaseSource": "harness.explore.generate",
    "LocalExecutor": "harness.explore.local",
    "Shrinker": "harness.explore.shrink",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Campaign",
    "CampaignResult",
    "CaseSource",
    "Corpus",
    "Executor",
    "LocalExecutor",
    "Outcome",
    "Settings",
    "Shrinker",
    "run_case",
]
