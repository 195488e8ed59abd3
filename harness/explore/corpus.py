"""The corpus: a directory of failing cases that later campaigns replay
first, so a failure found once stays a regression test.

    CORPUS/
      campaign.json                       where each campaign stopped (``--resume``)
      index.html                          every group, linking its report
      <group>/                            one directory per violated invariant
        group.json                        what the group is, its counts, its smallest case
        case-<digest>.json                a failing case (``Case.save``), replayable with
        case-<digest>.history.jsonl         ``python -m harness.sim replay``, and its history
        smallest-<digest>.json            the group's smallest failing case (shrunk),
        smallest-<digest>.history.jsonl     its history,
        report.html                         and its HTML report

At most :data:`MAX_KEPT` failing cases are kept per group besides its
smallest (a campaign counts the rest).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sim.case import Case

STATE_FILE = "campaign.json"
GROUP_FILE = "group.json"
INDEX_FILE = "index.html"
REPORT_FILE = "report.html"
#: Failing cases kept per group, besides its smallest.
MAX_KEPT = 10


class CorpusError(ValueError):
    """A corpus that cannot be used; the message is one line."""


def group_slug(group: tuple[str, str]) -> str:
    """A directory name for a group: ``checker--kind``, made safe."""
    text = "--".join(p for p in group if p) or "unknown"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:100]


def history_path(case_path: Path) -> Path:
    """Where a case file's history lies (where ``python -m harness.sim replay`` writes it)."""
    return case_path.with_suffix(".history.jsonl")


def _write(path: Path, data: bytes | str) -> None:
    """Write a file whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Stored:
    """A case file of the corpus."""

    path: Path
    case: Case


class Corpus:
    """The corpus directory (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise CorpusError(f"--corpus {self.root}: is a file, expected a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CorpusError(f"--corpus {self.root}: cannot create it: {e.strerror or e}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise CorpusError(f"--corpus {self.root}: not writable")
        self.state = self._load_state()
        #: Case files that could not be read (path, reason), found by :meth:`cases`.
        self.unreadable: list[tuple[Path, str]] = []

    # -- campaign state ---------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        p = self.root / STATE_FILE
        if not p.exists():
            return {"version": 1, "campaigns": []}
        try:
            state = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise CorpusError(f"{p}: cannot read the campaign state: {e}") from None
        if not isinstance(state, dict) or not isinstance(state.get("campaigns"), list):
            raise CorpusError(f"{p}: not a campaign state file (no 'campaigns' list)")
        return state

    def campaign(self, seed: int | None, fingerprint: str) -> dict[str, Any] | None:
        """The recorded campaign of ``seed`` (None: the latest) with these settings, if any."""
        mine = [
            c
            for c in self.state["campaigns"]
            if isinstance(c, dict)
            and c.get("fingerprint") == fingerprint
            and (seed is None or c.get("seed") == seed)
        ]
        return max(mine, key=lambda c: str(c.get("updated", ""))) if mine else None

    def record_campaign(self, seed: int, fingerprint: str, next_case: int, **info: Any) -> None:
        """Say where the campaign of ``seed`` stopped: every case before ``next_case`` ran."""
        entry = self.campaign(seed, fingerprint)
        if entry is None:
            entry = {"seed": seed, "fingerprint": fingerprint}
            self.state["campaigns"].append(entry)
        entry.update(info, next=next_case, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
        _write(self.root / STATE_FILE, json.dumps(self.state, indent=2, sort_keys=True) + "\n")

    # -- cases ------------------------------------------------------------------

    def cases(self) -> list[Stored]:
        """Every case file of the corpus, smallest cases first, each group's in name order."""
        found: list[Stored] = []
        self.unreadable = []
        paths = sorted(
            self.root.glob("*/*.json"),
            key=lambda p: (p.parent.name, not p.name.startswith("smallest-"), p.name),
        )
        for p in paths:
            if p.name == GROUP_FILE:
                continue
            try:
                found.append(Stored(p, Case.load(p)))
            except Exception as e:  # a case file of another version, or edited by hand
                self.unreadable.append((p, f"{type(e).__name__}: {e}".splitlines()[0]))
        return found

    def group_dir(self, group: tuple[str, str]) -> Path:
        d = self.root / group_slug(group)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def save_failure(self, case: Case, history: bytes, group: tuple[str, str]) -> Path | None:
        """Keep a failing case and its history in its group's directory (unless
        the group has :data:`MAX_KEPT` already); its path."""
        d = self.group_dir(group)
        path = d / f"case-{case.digest()}.json"
        if path.exists():
            return path
        if sum(1 for _ in d.glob("case-*.json")) >= MAX_KEPT:
            return None
        return self._save(case, history, path)

    def save_smallest(self, case: Case, history: bytes, group: tuple[str, str]) -> Path:
        """Make ``case`` its group's smallest case (the one replaced is removed)."""
        d = self.group_dir(group)
        path = d / f"smallest-{case.digest()}.json"
        for old in d.glob("smallest-*"):
            if not old.name.startswith(path.stem):
                old.unlink(missing_ok=True)
        return self._save(case, history, path)

    def smallest(self, group: tuple[str, str]) -> Path | None:
        found = sorted((self.root / group_slug(group)).glob("smallest-*.json"))
        return found[0] if found else None

    def _save(self, case: Case, history: bytes, path: Path) -> Path:
        _write(path, case.dumps())
        if history:
            _write(history_path(path), history)
        return path

    # -- groups -----------------------------------------------------------------

    def write_group(self, group: tuple[str, str], info: dict[str, Any]) -> None:
        _write(self.group_dir(group) / GROUP_FILE, json.dumps(info, indent=2, sort_keys=True) + "\n")

    def groups(self) -> Iterator[dict[str, Any]]:
        """What each group directory says about itself (``group.json``)."""
        for p in sorted(self.root.glob(f"*/{GROUP_FILE}")):
            try:
                info = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(info, dict):
                yield {**info, "dir": p.parent.name}


__all__ = [
    "GROUP_FILE",
    "INDEX_FILE",
    "MAX_KEPT",
    "REPORT_FILE",
    "STATE_FILE",
    "Corpus",
    "CorpusError",
    "Stored",
    "group_slug",
    "history_path",
]
