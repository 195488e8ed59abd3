"""The ``harness`` command called in-process: argv in, exit status and the
text it wrote out, with a bound on how long it may take.

What every command promises on any input: exit 2 with exactly one line on
stderr (bad input), or a verdict (0, 1, or 3 for ``harness check``'s unknown)
with nothing on stderr; never an exception escaping ``main`` (a traceback),
never a hang past the bound. :meth:`Outcome.problem` says which promise broke.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Exit statuses of a verdict (``harness check`` exits 3 for unknown).
VERDICTS = (0, 1, 3)


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the
    code under test swallows it."""


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    out: str
    err: str
    traceback: str | None = None  # an exception escaped main
    hung: bool = False

    def problem(self) -> str | None:
        """What broke the promise (see the module docstring), or None."""
        if self.hung:
            return "hang"
        if self.traceback is not None:
            return f"traceback:\n{self.traceback}"
        if "Traceback (most recent call last)" in self.err:
            return f"a traceback on stderr:\n{self.err}"
        lines = self.err.splitlines()
        if self.code == 2:
            if len(lines) != 1 or not self.err.endswith("\n"):
                return f"exit 2 with {len(lines)} lines on stderr: {self.err!r}"
            if ": error: " not in lines[0]:
                return f"exit 2 without 'PROG: error: ...' on stderr: {self.err!r}"
            return None
        if self.code in VERDICTS:
            return None if not self.err else f"exit {self.code} with stderr {self.err!r}"
        return f"exit status {self.code!r}"


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` after ``seconds``, restoring any alarm already set
    (pytest-timeout's) with the time that is left of it."""

    def ring(signum: int, frame: object) -> None:
        raise Hang()

    old_handler = signal.signal(signal.SIGALRM, ring)
    old_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(old_left - (time.monotonic() - start), 0.001))


def invoke(argv: Sequence[str], *, bound: float = 60.0, cwd: str | Path | None = None) -> Outcome:
    """Run ``harness ARGV`` in this process (``harness.cli.main``), in ``cwd`` if given."""
    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    result = Outcome(list(argv), None, "", "")
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with _alarm(bound), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                result.code = main(list(argv))
            except SystemExit as e:  # argparse's --help and usage errors
                result.code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Hang:
        result.hung = True
    except Exception:
        result.traceback = traceback.format_exc()
    finally:
        os.chdir(here)
    result.out, result.err = out.getvalue(), err.getvalue()
    return result
