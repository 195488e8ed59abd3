"""``harness explore``: a campaign of generated cases against a system under
test (see ``docs/explore.md``).

Exit status: 0 nothing found, 1 a violation found (in the corpus's cases or
the campaign's), 2 bad input or an unusable executor (one line on stderr),
130 stopped by Ctrl-C (what was found is kept and the table printed).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.cli_parser import OneLineParser, error, int_in, non_negative_int, one_line, positive_float

PROG = "harness explore"
EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_CORPUS = Path("runs/corpus")
DEFAULT_SEEDS = 100


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(
        prog=PROG,
        description="Run many generated cases (workload, fault plan, schedule, seed) against a system, "
        "keep every failure in a corpus, group the failures by the invariant they violate and shrink each group.",
    )
    ap.add_argument(
        "--system",
        default=None,
        metavar="pkg.module:obj",
        help="the system under test (a harness.system.System; default: the reference system)",
    )
    ap.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the system (repeatable; VALUE is JSON or a string)",
    )
    ap.add_argument(
        "--worker",
        action="append",
        default=[],
        metavar="CAPABILITY=pkg.module:Class",
        help="run this Worker for a capability (repeatable; the system's impls option)",
    )
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument(
        "--seeds",
        type=int_in(1, 10**9),
        default=None,
        metavar="N",
        help=f"cases to run (default: {DEFAULT_SEEDS})",
    )
    budget.add_argument(
        "--time-budget", type=positive_float, default=None, metavar="SECONDS", help="run cases for this long"
    )
    ap.add_argument(
        "--jobs",
        type=int_in(1, 1024),
        default=None,
        metavar="J",
        help="cases at once with the local executor (default: the number of CPUs)",
    )
    faults = ap.add_mutually_exclusive_group()
    faults.add_argument(
        "--plan",
        default=None,
        metavar="FILE|none",
        help="one fault plan for every case (none: no faults) instead of drawn ones",
    )
    faults.add_argument(
        "--faults",
        default=None,
        metavar="KINDS",
        help="draw faults of these kinds only (comma-separated, e.g. duplicate_delivery,crash)",
    )
    ap.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        metavar="DIR",
        help=f"where failing cases, reports and the campaign state are kept (default: {DEFAULT_CORPUS})",
    )
    ap.add_argument(
        "--executor",
        default="local",
        metavar="local|tcp://HOST:PORT",
        help="where cases run: worker processes here (default), or a Dask cluster's scheduler",
    )
    ap.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        metavar="CAMPAIGN_SEED",
        help="the campaign seed: case i of a seed is always the same case (default: a fresh one, "
        "or with --resume the corpus's latest campaign's)",
    )
    ap.add_argument(
        "--resume",
        action="store_true",
        help="continue the campaign seed's sequence where the corpus's campaign state says it stopped",
    )
    ap.add_argument(
        "--shrink-time",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="bound on shrinking each group's smallest case (default: 60; 0: do not shrink)",
    )
    return ap


class BadInput(ValueError):
    """Bad input to the command; the message is one line."""


def _system(args: argparse.Namespace) -> Any:
    from harness.cli import _options
    from harness.run.main import RunError
    from harness.system import SystemError_, SystemRef, check_impls, load_system

    try:
        load_system(args.system)
        options = _options(args.option, args.worker)
    except (SystemError_, RunError) as e:
        raise BadInput(str(e)) from None
    if isinstance(options.get("impls"), dict) and options["impls"]:
        try:
            check_impls(options["impls"])
        except ValueError as e:
            raise BadInput(f"--worker {e}") from None
    return SystemRef(args.system or "", options)


def _faults(args: argparse.Namespace) -> tuple[tuple[str, ...] | None, Any]:
    from harness.explore.generate import check_kinds
    from harness.faults.plan import FaultPlan, PlanError

    kinds = None
    if args.faults is not None:
        try:
            kinds = check_kinds([k.strip() for k in args.faults.split(",") if k.strip()])
        except ValueError as e:
            raise BadInput(f"--faults: {e}") from None
    plan = None
    if args.plan == "none":
        plan = FaultPlan()
    elif args.plan is not None:
        try:
            plan = FaultPlan.load(args.plan)
        except PlanError as e:
            raise BadInput(f"--plan: {e}") from None
    return kinds, plan


@contextlib.contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    """Keep a library's own logging off stderr while an executor connects (its failure is reported in one line)."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    for logger, _ in saved:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _executor(spec: str, jobs: int) -> Any:
    from harness.explore.local import LocalExecutor

    if spec == "local":
        return LocalExecutor(jobs)
    try:
        from harness.explore.dask_executor import DaskExecutor
    except ImportError as e:
        raise BadInput(f"--executor {spec}: the Dask executor is not available: {one_line(e)}") from None
    _probe(spec)
    try:
        with _quiet_loggers("distributed", "tornado", "asyncio"):
            return DaskExecutor(spec)
    except (OSError, ValueError) as e:
        raise BadInput(f"--executor {spec}: {one_line(e)}") from None


def _probe(spec: str) -> None:
    """A scheduler that refuses connections is said so at once (Dask would retry until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(spec)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise BadInput(f"--executor {spec!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise BadInput(f"--executor {spec}: cannot reach the Dask scheduler: {e.strerror or e}") from None


def _seed(args: argparse.Namespace, corpus: Any, source_fingerprint: Any) -> int:
    if args.seed is not None:
        return int(args.seed)
    if args.resume:
        entry = corpus.campaign(None, source_fingerprint)
        if entry is not None:
            return int(entry["seed"])
    return random.SystemRandom().randrange(1, 2**31)


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_BAD_INPUT
    try:
        return _main(args)
    except BadInput as e:
        return error(PROG, e)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED


def _main(args: argparse.Namespace) -> int:
    import math

    from harness.explore.corpus import Corpus, CorpusError

    if not math.isfinite(args.shrink_time) or args.shrink_time < 0:
        raise BadInput(f"--shrink-time must be zero or more seconds, not {args.shrink_time!r}")
    if args.executor != "local" and not args.executor.startswith("tcp://"):
        raise BadInput(f"--executor {args.executor!r}: expected local or tcp://HOST:PORT")
    system = _system(args)
    kinds, plan = _faults(args)
    try:
        corpus = Corpus(args.corpus)
    except CorpusError as e:
        raise BadInput(str(e)) from None
    from harness.explore.campaign import Campaign, Settings
    from harness.explore.generate import CaseSource

    fingerprint = CaseSource(system, 0, kinds=kinds, plan=plan).fingerprint()
    seed = _seed(args, corpus, fingerprint)
    seeds = None if args.time_budget is not None else (args.seeds or DEFAULT_SEEDS)
    jobs = args.jobs or max(1, os.cpu_count() or 1)
    executor = _executor(args.executor, jobs)
    settings = Settings(
        system=system,
        seed=seed,
        seeds=seeds,
        time_budget=args.time_budget,
        kinds=kinds,
        plan=plan,
        resume=args.resume,
        shrink_seconds=args.shrink_time,
    )
    from harness.explore.progress import CampaignProgress
    from harness.explore.table import print_header, print_result

    try:
        start = getattr(executor, "start", None)
        if callable(start):  # worker processes before any thread of the progress display, each set up
            from harness.explore.local import warm_case

            start(warm_case(system.spec, dict(system.options)))
        progress = CampaignProgress(None if seeds is None else seeds)
        campaign = Campaign(settings, executor, corpus, progress)
        print_header(settings, campaign.start_index(), executor, corpus)
        result = campaign.run()
    finally:
        executor.close()
    print_result(result, settings, corpus, args)
    if result.error:
        return error(PROG, f"--executor {args.executor}: {result.error}")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_VIOLATION if result.found else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
