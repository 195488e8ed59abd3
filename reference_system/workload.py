"""Deterministic workloads: the same seed gives the same requests."""

from __future__ import annotations

import random

from reference_system.messages import BriefRequest

TOPICS = (
    "battery storage",
    "urban cycling",
    "coffee prices",
    "solar tariffs",
    "port congestion",
    "rare earth mining",
    "remote work",
    "heat pumps",
    "wheat exports",
    "chip fabrication",
)

#: Enough tokens for the three stages with room to spare.
DEFAULT_BUDGET = 4000
#: Too few tokens: such a request fails with a budget reason.
TIGHT_BUDGET = 300


def requests(n: int, seed: int = 0, tight_fraction: float = 0.1) -> list[BriefRequest]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        budget = TIGHT_BUDGET if rng.random() < tight_fraction else DEFAULT_BUDGET
        out.append(BriefRequest(request_id=f"r{seed}-{i:04d}", topic=rng.choice(TOPICS), token_budget=budget))
    return out
