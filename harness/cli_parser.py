"""The argument parser every ``harness`` command uses: bad usage is one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

#: Exit status for bad input or usage, shared by every command.
EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)
