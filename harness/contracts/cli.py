"""``harness contracts``: export the registry, diff two schemas, verify the
consumers, and gate a worker swap. It only translates arguments into calls.

Exit status: 0 compatible / safe, 1 incompatible / not safe, 2 bad input
(a one-line error, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from harness.cli_parser import non_negative_int, one_line, positive_float
from harness.contracts.errors import ContractError
from harness.contracts.modes import DEFAULT_MODE, MODES

EXIT_OK, EXIT_BREAKING, EXIT_BAD_INPUT = 0, 1, 2


class _BadUsage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _BadUsage(message)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="harness contracts", description="Message contracts: registry, compatibility, swap gate."
    )
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    e = sub.add_parser("export", help="regenerate the contract files from the models")
    e.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="registry directory (default: the one the system declares; the reference system's ships with it)",
    )
    e.add_argument(
        "--source", default=None, help="pkg.module:NAME of the contract source (default: reference system)"
    )
    e.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file drifted from its model"
    )
    e.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="the system whose contracts these are (default: the reference system)",
    )

    d = sub.add_parser("diff", help="breaking changes from OLD to NEW under a compatibility mode")
    d.add_argument("old", type=Path, metavar="OLD", help="a schema file, or a directory of versions")
    d.add_argument("new", type=Path, metavar="NEW", help="the new schema file")
    d.add_argument(
        "--mode", default=DEFAULT_MODE, type=str.upper, choices=list(MODES), help="default: BACKWARD"
    )
    d.add_argument("--json", action="store_true", help="print the result as JSON")

    c = sub.add_parser("consumers", help="check every consumer against the latest contract it reads")
    c.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="registry directory (default: the one the system declares; the reference system's ships with it)",
    )
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="the system whose contracts these are (default: the reference system)",
    )

    g = sub.add_parser("check", help="the swap gate: may CANDIDATE replace the worker in ROLE?")
    g.add_argument("--role", required=True, help="the role (capability) to fill")
    g.add_argument("--candidate", required=True, help="the candidate worker, pkg.module:Class")
    g.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="registry directory (default: the one the system declares; the reference system's ships with it)",
    )
    g.add_argument(
        "--golden",
        type=Path,
        default=None,
        help="golden inputs, ROLE/*.json (default: the ones the system declares)",
    )
    g.add_argument(
        "--examples", type=non_negative_int, default=30, help="Hypothesis-generated inputs (default: 30)"
    )
    g.add_argument(
        "--seed", type=int, default=0, help="seed of the generated inputs and the model (default: 0)"
    )
    g.add_argument(
        "--max-token-ratio",
        type=positive_float,
        default=2.0,
        help="fail above this many times the incumbent's tokens",
    )
    g.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="the system whose worker this is (its worker kit and contracts; default: the reference system)",
    )
    g.add_argument("--report", type=Path, default=None, help="where to write the JSON report")
    g.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    return ap


def main(argv: list[str] | None = None) -> int:
    from harness.system import SystemError_

    argv = list(sys.argv[1:] if argv is None else argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args, console)
    except (_BadUsage, ContractError, SystemError_) as e:
        print(f"harness contracts: error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RecursionError:
        print("harness contracts: error: a schema nests too deeply to compare", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a registry file or the report that cannot be read or written
        where = f"{e.filename}: " if e.filename else ""
        print(f"harness contracts: error: {one_line(where + (e.strerror or str(e)))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as e:  # --help
        return int(e.code or 0)


def _registry_dir(args: argparse.Namespace) -> Path:
    """``--dir``, else the contracts directory the system declares."""
    if args.dir is None:
        from harness.contracts.gate import declared_dir
        from harness.system import worker_kit

        args.dir = declared_dir(None, worker_kit(args.system).contracts, "--dir", "contracts directory")
    return Path(args.dir)


def _export(args: argparse.Namespace, console: Console) -> int:
    from harness.contracts.registry import drift, export
    from harness.contracts.source import load_source

    _registry_dir(args)
    if args.source is None and args.system is not None:
        from harness.system import worker_kit

        args.source = worker_kit(args.system).source or None
    try:
        source = load_source(args.source)
    except ContractError:
        raise
    except Exception as e:  # importing the source's module ran its code, and it raised
        raise ContractError(f"cannot load source {args.source!r}: {type(e).__name__}: {e}") from None
    if args.check and not args.dir.is_dir():
        raise ContractError(f"{args.dir}: no such contracts directory")
    if args.dir.exists() and not args.dir.is_dir():
        raise ContractError(f"{args.dir}: not a directory")
    if args.check:
        drifted = drift(source, args.dir)
        for line in drifted:
            console.print(f"[red]drift[/red] {args.dir / line}")
        if not drifted:
            console.print(f"{args.dir}: every contract matches its model")
        return EXIT_BREAKING if drifted else EXIT_OK
    for rel, status in export(source, args.dir):
        console.print(f"{status:>9}  {args.dir / rel}")
    return EXIT_OK


def _diff(args: argparse.Namespace, console: Console) -> int:
    from harness.contracts.modes import Version, check, versions_for
    from harness.contracts.report import print_result

    if args.new.is_dir():
        raise ContractError(f"{args.new}: NEW must be a schema file, not a directory")
    new = Version.load(args.new)
    result = check(versions_for(args.old, new, args.mode), new, args.mode)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_result(result, console)
    return EXIT_OK if result.compatible else EXIT_BREAKING


def _consumers(args: argparse.Namespace, console: Console) -> int:
    from harness.contracts.consumers import check_consumer
    from harness.contracts.registry import Registry
    from harness.contracts.report import changes_table

    _check_declarations(_registry_dir(args))
    reg = Registry.load(args.dir)
    if not reg.consumers:
        raise ContractError(
            f"{args.dir}: no consumer declarations (expected {args.dir / 'consumers'}/AGENT.json)"
        )
    rows = []
    for c in reg.consumers:
        if not reg.has(c.message):
            raise ContractError(
                f"consumer {c.agent} reads {c.message!r}, which has no contract in {args.dir}"
            )
        rows.append((c, check_consumer(reg.doc(c.message), c)))
    broken = [(c, ch) for c, ch in rows if ch]
    if args.json:
        out = [
            {"consumer": c.agent, "message": c.message, "changes": [x.to_dict() for x in ch]}
            for c, ch in rows
        ]
        print(json.dumps(out, indent=2))
    else:
        for c, ch in broken:
            console.print(changes_table(ch, title=f"{c.message} v{reg.latest(c.message)} breaks {c.agent}"))
        console.print(f"{len(rows) - len(broken)} of {len(rows)} consumer declarations satisfied")
    return EXIT_BREAKING if broken else EXIT_OK


def _check_declarations(directory: Path) -> None:
    """A ContractError (one line) for a consumer declaration of the wrong shape:
    ``{"consumer": AGENT, "reads": [{"message": NAME, "reads": {PATH: TYPE | [TYPE]}}]}``
    with strings throughout, before the registry reads them."""
    from harness.contracts.registry import CONSUMERS_DIR

    for path in sorted((directory / CONSUMERS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
        except RecursionError:
            raise ContractError(f"{path}: cannot read: nested too deeply") from None
        except ValueError as e:
            raise ContractError(f"{path}: cannot read: {e}") from None
        what = f"{path}: not a consumer declaration"
        if not isinstance(data, dict) or not isinstance(data.get("consumer"), str):
            raise ContractError(f'{what} (expected an object with a "consumer" string)')
        reads = data.get("reads")
        if not isinstance(reads, list):
            raise ContractError(f'{what} ("reads" must be a list)')
        for i, r in enumerate(reads):
            if not isinstance(r, dict) or not isinstance(r.get("message"), str):
                raise ContractError(f'{what} (reads[{i}] must be an object with a "message" string)')
            fields = r.get("reads")
            if not isinstance(fields, dict) or not all(
                isinstance(t, str) or (isinstance(t, list) and all(isinstance(x, str) for x in t))
                for t in fields.values()
            ):
                raise ContractError(
                    f"{what} (reads[{i}].reads must map field paths to a type or a list of types)"
                )


def _check(args: argparse.Namespace, console: Console) -> int:
    from harness.contracts.gate import GateConfig, run_gate
    from harness.contracts.report import print_gate

    cfg = GateConfig(
        role=args.role,
        candidate=args.candidate,
        contracts=args.dir,
        golden=args.golden,
        examples=args.examples,
        seed=args.seed,
        max_token_ratio=args.max_token_ratio,
        report=args.report,
        system=args.system,
    )
    report = run_gate(cfg)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_gate(report, console)
    return EXIT_OK if report.safe else EXIT_BREAKING


_COMMANDS = {"export": _export, "diff": _diff, "consumers": _consumers, "check": _check}
