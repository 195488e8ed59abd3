"""What every ``harness`` command shares for bad input: the argument parser
(bad usage is one line and exit 2), the types of its numeric flags (a value
out of range is a usage error, not a surprise later), and the one-line error."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

#: Exit status for bad input or usage, shared by every command.
EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def one_line(text: object) -> str:
    """``text`` on one line: line breaks become spaces (a file name or a
    parser's message may hold them)."""
    return " ".join(str(text).splitlines()).strip()


def error(prog: str, message: object) -> int:
    """Print ``PROG: error: MESSAGE`` as one line on stderr; returns exit status 2."""
    sys.stderr.write(f"{prog}: error: {one_line(message)}\n")
    return EXIT_BAD_INPUT


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above zero (``nan``, ``inf``, 0 and negatives refused)."""
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above zero, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer, zero or more."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text!r}")
    return value


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``lo`` to ``hi``."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {text!r}")
        return value

    return parse


__all__ = [
    "EXIT_BAD_INPUT",
    "OneLineParser",
    "error",
    "int_in",
    "non_negative_int",
    "one_line",
    "positive_float",
]
