"""The Chaos Toolkit experiments the harness ships (package data), by name:
``harness chaos list`` lists them (``--paths``: with the file each is in, for
Chaos Toolkit's own ``chaos run FILE``), ``harness chaos run NAME`` runs one."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def shipped() -> dict[str, Path]:
    """Name (the file's stem) to file, sorted by name."""
    return {p.stem: p for p in sorted(HERE.glob("*.json"))}


def title(path: Path) -> str:
    """The experiment's title, or "" when its file has none."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("title", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
