"""``harness report HISTORY [--out FILE]``: build the HTML report of a history
and print the verdict table.

Exit status: 0 the report was written, 2 bad input (a one-line error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli_parser import OneLineParser

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(
        prog="harness report", description="Build the self-contained HTML report of a history."
    )
    ap.add_argument("history", type=Path, help="a JSONL history (e.g. runs/<run>/history.jsonl)")
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
    from harness.report.build import run_checkers, write_report

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if not args.history.is_file():
        print(f"harness report: error: {args.history}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        ops = read_history(args.history)
    except HistoryFormatError as e:
        print(f"harness report: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from harness.system import SystemError_, load_system

    try:
        specs = load_system(args.system).checker_specs() if args.system else {}
    except SystemError_ as e:
        print(f"harness report: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    ops, verdicts = run_checkers(ops, specs=specs)
    out = args.out or args.history.with_name("report.html")
    title = args.title or f"Run report: {args.history.parent.name or args.history.name}"
    try:
        write_report(ops, verdicts, out, title=title, source=str(args.history))
    except OSError as e:
        print(f"harness report: error: cannot write {out}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        from harness.report.console import print_verdicts

        print_verdicts(verdicts)
    print(out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
