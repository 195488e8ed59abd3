"""``harness check HISTORY``: run checkers over a recorded history and print
their verdicts with witnesses.

Exit status: 0 every verdict valid, 1 a violation was found, 2 bad input (a
one-line error, no traceback), 3 a verdict is unknown (and none is a violation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.checkers.registry import CHECKERS, STATE_MACHINE_KEY, STREAMING, check, resolve_specs
from harness.checkers.verdict import UNKNOWN, Verdict, combine
from harness.cli_parser import non_negative_int, one_line, positive_float
from harness.history.importers import FORMATS, detect_format, load_history
from harness.history.jsonl import HistoryFormatError
from harness.history.salvage import history_of

EXIT_VALID, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3
MODEL_NAMES = ("register", "kv")
#: Spec sections for the run properties (``harness.sim.checks``): accepted so
#: one file serves both, not used by ``harness check``.
RUN_SECTIONS = ("stages", "retries")


class _BadInput(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _BadInput(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="harness check",
        description="Check a recorded history and print a verdict per property.",
        epilog="Exit status: 0 valid, 1 violation found, 2 bad input, 3 unknown.",
    )
    p.add_argument(
        "history",
        metavar="HISTORY",
        help="a history file, or a run directory (its parts are merged if the run never merged them)",
    )
    p.add_argument(
        "--format", choices=FORMATS, default=None, help="history format (default: detected from the file)"
    )
    p.add_argument(
        "--checker",
        action="append",
        choices=CHECKERS,
        metavar="NAME",
        help=f"a checker to run, repeatable (one of: {', '.join(CHECKERS)}); default: all that apply",
    )
    p.add_argument(
        "--model",
        choices=MODEL_NAMES,
        default=None,
        help="the linearizability model (default: register for etcd logs, kv for kv logs)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="time budget for linearizability (a number above zero)",
    )
    p.add_argument(
        "--no-partition", action="store_true", help="check linearizability without per-key partitioning"
    )
    p.add_argument(
        "--spec",
        metavar="FILE",
        default=None,
        help=(
            "per-checker settings of the system under test, TOML or JSON: "
            '{"<checker>": {setting: value}}, plus "state_machine": '
            '{"transitions": {state: [next]}, "initial": s, "terminal": [...]} for ordering and liveness'
        ),
    )
    p.add_argument(
        "--system",
        metavar="pkg.module:obj",
        default=None,
        help="take the checker settings from this system's declarations (--spec settings win)",
    )
    p.add_argument(
        "--max-witnesses", type=non_negative_int, default=5, metavar="N", help="anomalies shown per checker"
    )
    return p


def load_spec(path: str | Path) -> dict[str, Any]:
    """The checker settings in ``path`` (TOML, or JSON for ``.json``, else
    whichever parses), checked; a malformed file is a ValueError with one line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read spec {p}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"spec {p} is not UTF-8 text: {e.reason} at byte {e.start}") from None
    data: Any
    if p.suffix.lower() == ".json" or (p.suffix.lower() != ".toml" and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"spec {p} is not valid JSON: {e}") from None
        except RecursionError:
            raise ValueError(f"spec {p}: JSON nested too deeply") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"spec {p} is not valid TOML: {e}") from None
        except RecursionError:
            raise ValueError(f"spec {p}: TOML nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"spec {p} must be a table of checker settings")
    for name, kw in data.items():
        if name not in (*CHECKERS, STATE_MACHINE_KEY, *RUN_SECTIONS):
            known = ", ".join((*CHECKERS, STATE_MACHINE_KEY, *RUN_SECTIONS))
            raise ValueError(f"spec {p}: unknown section {name!r} (known: {known})")
        if not isinstance(kw, Mapping):
            raise ValueError(f"spec {p}: {name!r} must be a table of settings")
    try:
        out = resolve_specs(data)
        for name, kw in out.items():  # every setting is one its checker takes
            if name in STREAMING:
                STREAMING[name](**kw)
            elif name == "linearizability" and set(kw) - {"partitioned"}:
                raise ValueError(
                    f"checker 'linearizability': unknown setting(s) {', '.join(sorted(set(kw) - {'partitioned'}))}"
                )
    except TypeError as e:
        raise ValueError(f"spec {p}: bad settings: {e}") from None
    except ValueError as e:
        raise ValueError(f"spec {p}: {e}") from None
    return {k: v for k, v in out.items() if k not in RUN_SECTIONS}


def _system_specs(path: str) -> dict[str, Any]:
    """The checker settings of the system named ``pkg.module:obj``."""
    from harness.system.spec import load_system

    try:
        specs = load_system(path).checker_specs()
    except ValueError:
        raise
    except Exception as e:  # the system's own module failed to load
        raise ValueError(f"cannot load system {path!r}: {type(e).__name__}: {e}") from None
    return {k: dict(v) for k, v in specs.items() if k not in RUN_SECTIONS}


def _verdict_text(v: Verdict) -> Text:
    if v.valid is True:
        return Text("valid", style="bold green")
    if v.valid is False:
        return Text("VIOLATION", style="bold red")
    return Text("unknown", style="bold yellow")


def _witnesses(v: Verdict, limit: int) -> str:
    lines = []
    for a in v.anomalies[:limit]:
        ops = ", ".join(map(str, a.ops[:8])) + (", ..." if len(a.ops) > 8 else "")
        tag = "" if a.severity == "violation" else f" ({a.severity})"
        lines.append(f"{a.kind}{tag} (ops {ops}): {a.message}")
    more = len(v.anomalies) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    if v.valid == UNKNOWN and not v.anomalies:
        reason = "out of time" if "timed_out_partition" in v.stats else "an outcome that matters is unknown"
        lines.append(reason)
    return "\n".join(lines) or "-"


def _stats(v: Verdict) -> str:
    keep = {k: x for k, x in v.stats.items() if k not in ("anomalies",) and not isinstance(x, (dict, list))}
    return ", ".join(f"{k}={x}" for k, x in keep.items())


def render(verdicts: list[Verdict], console: Console, *, title: str, limit: int = 5) -> None:
    table = Table(title=title, show_lines=True)
    table.add_column("checker", style="bold")
    table.add_column("verdict")
    table.add_column("anomalies / witnesses", overflow="fold")
    table.add_column("stats", overflow="fold", style="dim")
    for v in verdicts:
        table.add_row(Text(v.checker), _verdict_text(v), Text(_witnesses(v, limit)), Text(_stats(v)))
    console.print(table)


def exit_code(verdicts: list[Verdict]) -> int:
    overall = combine(verdicts)
    if overall is False:
        return EXIT_VIOLATION
    if overall == UNKNOWN:
        return EXIT_UNKNOWN
    return EXIT_VALID


def run_check(argv: list[str], *, console: Console | None = None, err: Console | None = None) -> int:
    """Run ``harness check`` with ``argv`` (the arguments after ``check``); returns the exit status."""
    console = console or Console()
    err = err or Console(stderr=True)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _BadInput as e:
        err.print(f"harness check: error: {one_line(e)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    except SystemExit as e:  # --help
        return int(e.code or 0)
    try:
        user_specs = _system_specs(args.system) if args.system else {}
        for name, kw in (load_spec(args.spec) if args.spec else {}).items():
            user_specs[name] = {**user_specs.get(name, {}), **kw}
        path = history_of(args.history)
        fmt = args.format or detect_format(path)
        history = load_history(path, fmt)
        if args.checker:
            names = list(dict.fromkeys(args.checker))
        elif fmt in ("etcd", "kv") or args.model:
            names = ["linearizability"]
        else:
            names = list(STREAMING)
        model: Any = args.model or ("kv" if fmt == "kv" else "register")
        specs = {**user_specs}
        lin = dict(user_specs.get("linearizability", {}))
        if args.no_partition:
            lin["partitioned"] = False
        specs["linearizability"] = lin
        verdicts = check(history, names, specs=specs, model=model, timeout=args.timeout)
    except (HistoryFormatError, ValueError, OSError) as e:
        err.print(f"harness check: error: {one_line(e)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    render(verdicts, console, title=f"{args.history} ({len(history)} operations)", limit=args.max_witnesses)
    return exit_code(verdicts)


def main() -> None:  # pragma: no cover - exercised through harness.cli
    sys.exit(run_check(sys.argv[1:]))


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_UNKNOWN",
    "EXIT_VALID",
    "EXIT_VIOLATION",
    "exit_code",
    "load_spec",
    "render",
    "run_check",
]
