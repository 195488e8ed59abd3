"""A campaign's progress: cases run, cases per second, failures by group.
A live bar when stdout is a terminal; otherwise a plain line every few
seconds (and one at the end), which logs and CI keep readably."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import IO, Any


def failures_text(failures: Counter[str]) -> str:
    if not failures:
        return "no failures"
    return "failures: " + ", ".join(
        f"{g} {n}" for g, n in sorted(failures.items(), key=lambda x: (-x[1], x[0]))
    )


class CampaignProgress:
    """``update(done, failures)`` after every case; ``note(text)`` for a line
    of its own (shrinking a group, replaying the corpus)."""

    def __init__(
        self,
        total: int | None,
        *,
        stream: IO[str] | None = None,
        interval: float = 5.0,
        live: bool | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.total = total
        self.interval = interval
        self.live = self.stream.isatty() if live is None else live
        self._t0 = time.monotonic()
        self._last_line = 0.0
        self._done = 0
        self._failures: Counter[str] = Counter()
        self._phase = "cases"
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> CampaignProgress:
        self._t0 = time.monotonic()
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
            columns.append(MofNCompleteColumn() if self.total else TextColumn("{task.completed:.0f}"))
            columns += [
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[failures]}"),
            ]
            self._bar = Progress(*columns, console=Console(file=self.stream), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("explore", total=self.total, rate="", failures="no failures")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        self._line(final=True)

    def rate(self) -> float:
        elapsed = time.monotonic() - self._t0
        return self._done / elapsed if elapsed > 0 else 0.0

    def update(self, done: int, failures: Counter[str], phase: str = "cases") -> None:
        self._done, self._failures, self._phase = done, Counter(failures), phase
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=done,
                description=phase,
                rate=f"{self.rate():.2f} cases/s",
                failures=failures_text(failures),
            )
        elif time.monotonic() - self._last_line >= self.interval:
            self._line()

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def _line(self, final: bool = False) -> None:
        if self.live and not final:
            return
        self._last_line = time.monotonic()
        total = f"/{self.total}" if self.total else ""
        print(
            f"explore: {self._done}{total} cases, {self.rate():.2f} cases/s, {failures_text(self._failures)}",
            file=self.stream,
            flush=True,
        )


__all__ = ["CampaignProgress", "failures_text"]
