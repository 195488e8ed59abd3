"""Compatibility modes, named and defined as in the AWS Glue Schema Registry.

=============  ===========================================================
BACKWARD       the new version reads data written with the last version
BACKWARD_ALL   the new version reads data written with every earlier one
FORWARD        the last version reads data written with the new one
FORWARD_ALL    every earlier version reads data written with the new one
FULL           BACKWARD and FORWARD against the last version
FULL_ALL       BACKWARD_ALL and FORWARD_ALL
NONE           no check: any new version is accepted
DISABLED       no new version is accepted
=============  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contracts.compat import Change, Direction, breaking_changes
from harness.contracts.errors import ContractError
from harness.contracts.schema import Doc

DEFAULT_MODE = "BACKWARD"

#: mode -> (directions checked, against every earlier version?)
MODES: dict[str, tuple[tuple[Direction, ...], bool]] = {
    "BACKWARD": (("backward",), False),
    "BACKWARD_ALL": (("backward",), True),
    "FORWARD": (("forward",), False),
    "FORWARD_ALL": (("forward",), True),
    "FULL": (("backward", "forward"), False),
    "FULL_ALL": (("backward", "forward"), True),
    "NONE": ((), False),
    "DISABLED": ((), False),
}

FILE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)\.v(?P<version>\d+)\.json$")


@dataclass(frozen=True)
class Version:
    """One version of a schema: where it came from, its message type and number."""

    label: str
    doc: Doc
    name: str | None = None
    number: int | None = None

    @classmethod
    def load(cls, path: Path) -> Version:
        doc = Doc.load(path)
        name, number = identify(path, doc)
        return cls(str(path), doc, name, number)


def identify(path: Path, doc: Doc) -> tuple[str | None, int | None]:
    """A schema's message type and version, from its ``x-message-type`` and
    ``x-message-version``, else from a file name like ``subtask.v2.json``."""
    root = doc.root if isinstance(doc.root, dict) else {}
    m = FILE_RE.match(path.name)
    name = root.get("x-message-type") or (m.group("name") if m else None)
    number = root.get("x-message-version")
    if not isinstance(number, int):
        number = int(m.group("version")) if m else None
    return (str(name) if name is not None else None), number


@dataclass
class Comparison:
    against: str
    changes: list[Change]


@dataclass
class Result:
    """The verdict of one NEW schema under one mode."""

    mode: str
    new: str
    compatible: bool
    comparisons: list[Comparison] = field(default_factory=list)
    note: str = ""

    @property
    def changes(self) -> list[Change]:
        return [c for cmp in self.comparisons for c in cmp.changes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "new": self.new,
            "compatible": self.compatible,
            "note": self.note,
            "comparisons": [
                {"against": c.against, "changes": [ch.to_dict() for ch in c.changes]}
                for c in self.comparisons
            ],
        }


def compare(old: Doc, new: Doc, directions: Sequence[Direction] = ("backward", "forward")) -> list[Change]:
    """The breaking changes from ``old`` to ``new`` in the given directions."""
    out: list[Change] = []
    if "backward" in directions:
        out += breaking_changes(old, new, "backward")
    if "forward" in directions:
        out += breaking_changes(new, old, "forward")
    return out


def check(olds: Sequence[Version], new: Version, mode: str = DEFAULT_MODE) -> Result:
    """Whether ``new`` may follow ``olds`` (earliest first) under ``mode``."""
    mode = mode.upper()
    if mode not in MODES:
        raise ContractError(f"unknown compatibility mode {mode!r} (one of {', '.join(MODES)})")
    directions, every = MODES[mode]
    if not olds:
        raise ContractError(f"{new.label}: no earlier version to compare with")
    if mode == "DISABLED":
        return Result(mode, new.label, False, note="versioning is disabled: no new version is accepted")
    against = list(olds) if every else list(olds[-1:])
    if mode == "NONE":  # nothing is enforced; show the full diff for information
        cmps = [Comparison(v.label, compare(v.doc, new.doc)) for v in against]
        return Result(mode, new.label, True, cmps, note="mode NONE: changes are listed but not enforced")
    cmps = [Comparison(v.label, compare(v.doc, new.doc, directions)) for v in against]
    return Result(mode, new.label, not any(c.changes for c in cmps), cmps)


def earlier_versions(directory: Path, new: Version) -> list[Version]:
    """The versions in ``directory`` that precede ``new``: the same message type
    (when known), a lower version number (when known), never ``new`` itself."""
    if not directory.is_dir():
        raise ContractError(f"{directory}: no such directory")
    try:
        me = Path(new.label).resolve()
    except OSError:
        me = None
    found: list[Version] = []
    for path in sorted(directory.glob("*.json")):
        if me is not None and path.resolve() == me:
            continue
        m = FILE_RE.match(path.name)
        if m and new.name is not None and m.group("name") != new.name:
            continue
        v = Version.load(path)
        if new.name is not None and v.name is not None and v.name != new.name:
            continue
        if new.number is not None and v.number is not None and v.number >= new.number:
            continue
        found.append(v)
    if not found:
        what = f"of {new.name} " if new.name else ""
        raise ContractError(f"{directory}: no earlier version {what}to compare with")
    return sorted(found, key=lambda v: (v.number if v.number is not None else -1, v.label))


def versions_for(old: Path, new: Version, mode: str) -> list[Version]:
    """OLD as given on the command line: a schema file, or a directory of
    versions (every earlier one for the _ALL modes, the last one otherwise)."""
    if old.is_dir():
        return earlier_versions(old, new)
    if not old.exists():
        raise ContractError(f"{old}: no such file or directory")
    return [Version.load(old)]
