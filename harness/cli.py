"""The ``harness`` command. It only translates arguments into library calls.

Exit codes: 0 all invariants hold / valid, 1 a violation was found,
2 bad input or an unusable backend, 3 verdict unknown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli_parser import OneLineParser

if TYPE_CHECKING:
    from harness.faults.plan import FaultPlan

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.backends import BackendError
    from harness.faults.plan import PlanError
    from harness.run import RunConfig, run
    from harness.run.main import RunError, RunInterrupted
    from harness.run.report import print_summary
    from harness.system import SystemError_, load_system

    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        load_system(args.system)
        cfg = RunConfig(
            backend=args.backend,
            requests=args.requests,
            workers=args.workers,
            seed=args.seed,
            out=args.out,
            timeout=args.timeout,
            plan=_plan(args.plan, args.seed, args.system),
            sim=args.sim,
            system=args.system,
            options=_options(args.option, args.worker),
            supervisors=args.supervisors,
            visibility_timeout=args.visibility_timeout,
            max_virtual_seconds=args.max_virtual_seconds,
        )
        cfg.validate()
        with Progress(
            TextColumn("[bold]requests"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("run", total=cfg.requests)
            result = run(cfg, progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (RunError, PlanError, BackendError, SystemError_) as e:
        print(f"harness run: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunInterrupted as e:
        saved = f"{e.operations} operations saved in {e.history}" if e.history else "nothing recorded yet"
        print(f"harness run: {e}: {saved}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("harness run: interrupted", file=sys.stderr)
        return 130
    print_summary(result, console)
    return EXIT_OK if result.ok else EXIT_VIOLATION


def _options(pairs: list[str], workers: list[str] | None = None) -> dict[str, object]:
    """``KEY=VALUE`` options for the system (a value is JSON if it parses,
    else a string), with ``CAP=pkg.module:Class`` workers joining ``impls``."""
    import json

    from harness.run.main import RunError
    from harness.sim.case import worker_options

    out: dict[str, object] = {}
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq or not key.strip():
            raise RunError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    for spec in workers or ():
        try:
            impls = worker_options([spec])["impls"]
        except ValueError:
            raise RunError(f"--worker {spec!r}: expected capability=pkg.module:Class") from None
        given = out.get("impls")
        out["impls"] = {**(given if isinstance(given, dict) else {}), **impls}
    return out


def _plan(spec: str, seed: int, system: str | None = None) -> FaultPlan | None:
    from harness.faults import plan as plans
    from harness.system import load_system

    if spec == "none":
        return None
    if spec == "default":
        return load_system(system).default_plan(seed)  # type: ignore[no-any-return]
    return plans.FaultPlan.load(spec)


#: Subcommands implemented elsewhere: name -> (module:function taking argv, help).
DELEGATES: dict[str, tuple[str, str]] = {
    "check": ("harness.checkers.cli_check:run_check", "check a recorded history"),
    "contracts": ("harness.contracts.cli:main", "export, diff and gate message contracts"),
    "report": ("harness.report.cli:main", "build the HTML report of a history"),
    "chaos": ("harness.chaos.cli:main", "run a chaos experiment against a backend"),
    "deploy": ("harness.deploy_cli:main", "create the reference system's resources on a backend"),
    "explore": ("harness.explore.cli:main", "run a campaign of generated cases, keep and shrink what fails"),
}


def _delegate(name: str, argv: list[str]) -> int:
    import importlib

    target, _ = DELEGATES[name]
    mod_name, _, fn_name = target.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        if e.name and mod_name.startswith(e.name):
            print(f"harness: error: '{name}' is not available in this installation", file=sys.stderr)
            return EXIT_BAD_INPUT
        raise
    return int(getattr(mod, fn_name)(argv))


#: The distribution this command comes from (``pyproject.toml``'s name).
DISTRIBUTION = "mas-harness"


def version() -> str:
    """The installed version of the harness (``unknown`` when it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog="harness", description="Test and verify multi-agent systems on AWS.")
    ap.add_argument("--version", action="version", version=f"harness {version()}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    r = sub.add_parser("run", help="run the system under test on a backend, record and check it")
    r.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="the system under test (a harness.system.System; default: the reference system)",
    )
    r.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the system (repeatable; VALUE is JSON or a string)",
    )
    r.add_argument("--backend", default="embedded", help="where AWS is (default: embedded)")
    r.add_argument("--requests", type=int, default=20, help="requests to submit (default: 20)")
    r.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker agents: processes sharing the capabilities (default: 3); with --sim, agents per capability (default: 1)",
    )
    r.add_argument(
        "--supervisors",
        type=int,
        default=1,
        help="supervisor replicas, for a system that has them (default: 1)",
    )
    r.add_argument(
        "--worker",
        action="append",
        default=[],
        metavar="CAPABILITY=pkg.module:Class",
        help="run this Worker for a capability (repeatable; the system's impls option)",
    )
    r.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        metavar="S",
        help="the queues' visibility timeout (default: 30)",
    )
    r.add_argument(
        "--max-virtual-seconds",
        type=float,
        default=None,
        metavar="S",
        help="with --sim: stop after this much virtual time (default: 3600)",
    )
    r.add_argument("--seed", type=int, default=1, help="seed of the workload and the model (default: 1)")
    r.add_argument("--out", type=Path, default=None, help="output directory (default: under runs/)")
    r.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    r.add_argument(
        "--plan",
        default="default",
        metavar="FILE|default|none",
        help="fault plan to inject (default: the built-in default plan; none: no faults)",
    )
    r.add_argument(
        "--sim", action="store_true", help="run in the deterministic simulator (one thread, virtual time)"
    )
    r.set_defaults(func=_run)
    for name, (_, help_text) in DELEGATES.items():
        sub.add_parser(name, help=f"{help_text} (see `harness {name} --help`)", add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATES:
        return _delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
