"""``harness report HISTORY [--out FILE]``: build the HTML report of a history
and print the verdict table.

Exit status: 0 the report was written and no verdict is a violation, 1 it
was written and a verdict is a violation (as ``harness check``), 2 bad input
(a one-line error, no report written). An unknown verdict is not a violation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli_parser import OneLineParser, error

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT = 0, 1, 2
PROG = "harness report"


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(
        prog="harness report", description="Build the self-contained HTML report of a history."
    )
    ap.add_argument(
        "history",
        type=Path,
        help="a JSONL history, or a run directory (its parts are merged if the run never merged them)",
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="where to write the page (default: report.html beside HISTORY)"
    )
    ap.add_argument("--title", default=None, help="the page's title")
    ap.add_argument("--quiet", action="store_true", help="print only the report's path")
    ap.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="check with this system's declarations (state machine, versioned items...); "
        "without it, what needs a declaration is skipped",
    )
    return ap


def main(argv: list[str]) -> int:
    from harness.history.jsonl import HistoryFormatError, read_history
    from harness.history.salvage import history_of
    from harness.report.build import run_checkers, write_report

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        history = history_of(args.history)
    except HistoryFormatError as e:
        return error(PROG, e)
    except OSError as e:
        return error(PROG, f"cannot merge the parts of {args.history}: {e.strerror or e}")
    if not history.is_file():
        return error(PROG, f"{args.history}: no such file")
    out = args.out or history.with_name("report.html")
    if out.is_dir():
        return error(PROG, f"--out {out}: is a directory, expected a file name")
    try:
        ops = read_history(history)
    except HistoryFormatError as e:
        return error(PROG, e)
    from harness.system import SystemError_, load_system

    try:
        specs = load_system(args.system).checker_specs() if args.system else {}
    except SystemError_ as e:
        return error(PROG, e)
    ops, verdicts = run_checkers(ops, specs=specs)
    title = args.title or f"Run report: {history.parent.name or history.name}"
    try:
        write_report(ops, verdicts, out, title=title, source=str(history))
    except OSError as e:
        return error(PROG, f"cannot write {out}: {e.strerror or e}")
    if not args.quiet:
        from harness.report.console import print_verdicts

        print_verdicts(verdicts)
    print(out)
    return EXIT_VIOLATION if any(v.valid is False for v in verdicts) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
