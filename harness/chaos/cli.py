"""``harness chaos``: run a Chaos Toolkit experiment and judge its journal.

    harness chaos run EXPERIMENT [--backend embedded|localstack|aws]
                                 [--allowed-account ID ...] [--profile NAME]
                                 [--worker CAP=pkg.module:Class ...] [--out DIR]
    harness chaos judge JOURNAL

``run`` runs Chaos Toolkit's own ``chaos run`` on the experiment, with the
experiment's configuration set for the backend (``harness_backend``,
``harness_allowed_accounts``, ...), then judges the journal: exit 0 when the
steady state held before and after the method, 1 when it did not (the
violated invariants are printed), 2 when the experiment could not be carried
out (bad input, a refused account, a backend that does not start). On
``aws`` the account is checked with STS before Chaos Toolkit even starts.
Ctrl-C is passed to Chaos Toolkit, which runs the rollbacks and stops the
system before this command reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.chaos.journal import ERROR, Judgement, judge, load
from harness.cli_parser import OneLineParser, error

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    from harness.backends.named import BACKENDS

    ap = OneLineParser(
        prog="harness chaos", description="Run Chaos Toolkit experiments against the reference system."
    )
    sub = ap.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    r = sub.add_parser("run", help="run an experiment with `chaos run` and judge its journal")
    r.add_argument(
        "experiment",
        type=Path,
        help="an experiment file (JSON), or the name of one the harness ships (see `harness chaos list`)",
    )
    r.add_argument(
        "--backend", choices=list(BACKENDS), default="embedded", help="where AWS is (default: embedded)"
    )
    r.add_argument(
        "--allowed-account",
        action="append",
        default=[],
        metavar="ID",
        help="an AWS account id the aws backend may touch (repeat, or comma-separate); required for aws",
    )
    r.add_argument(
        "--profile", default=None, help="AWS profile for the aws backend (default: the usual chain)"
    )
    r.add_argument(
        "--worker", action="append", default=[], metavar="CAP=pkg.module:Class", help="replace a worker"
    )
    r.add_argument("--out", type=Path, default=None, help="output directory (default: under runs/chaos/)")
    j = sub.add_parser("judge", help="judge the journal of an earlier `chaos run`")
    j.add_argument("journal", type=Path)
    ls = sub.add_parser("list", help="the experiments the harness ships, by name, with their titles")
    ls.add_argument("--paths", action="store_true", help="print each experiment's file path too")
    return ap


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "judge":
        return _judge_file(args.journal)
    if args.command == "list":
        return _list(args.paths)
    try:
        args.experiment = _experiment_path(args.experiment)
    except LookupError as e:
        return error(PROG, str(e))
    return _run(args)


def _list(paths: bool) -> int:
    from harness.chaos.experiments import shipped, title

    for name, path in shipped().items():
        print(f"{name:<28} {title(path)}" + (f"  ({path})" if paths else ""))
    return 0


def _experiment_path(given: Path) -> Path:
    """A file as given; a bare name (no directory, no .json) is a shipped experiment's."""
    from harness.chaos.experiments import shipped

    if given.exists() or given.suffix or len(given.parts) != 1:
        return given
    found = shipped()
    if str(given) in found:
        return found[str(given)]
    raise LookupError(
        f"{given}: no such file, and no shipped experiment of that name (shipped: {', '.join(found)})"
    )


PROG = "harness chaos"


def _judge_file(path: Path) -> int:
    try:
        journal = load(path)
    except OSError as e:
        return error(PROG, f"{path}: cannot read the journal: {e.strerror or e}")
    except ValueError as e:  # not JSON, or not the shape of a journal
        return error(PROG, f"{path}: not a Chaos Toolkit journal: {e}")
    return _report(path.stem, judge(journal), path, journal)


def _accounts(values: list[str]) -> list[str]:
    return [a.strip() for v in values for a in v.split(",") if a.strip()]


def _check_experiment(path: Path) -> str | None:
    try:
        exp = json.loads(path.read_bytes())
    except OSError as e:
        return f"{path}: cannot read the experiment: {e.strerror or e}"
    except RecursionError:
        return f"{path}: not valid JSON: nested too deeply"
    except ValueError as e:  # not JSON, or bytes that are not UTF-8
        return f"{path}: not valid JSON: {e}"
    if not isinstance(exp, dict) or "method" not in exp:
        return f"{path}: not a Chaos Toolkit experiment (no method)"
    if not isinstance(exp["method"], list) or not all(isinstance(a, dict) for a in exp["method"]):
        return f"{path}: not a Chaos Toolkit experiment (method must be a list of activities)"
    return None


def _check_account(args: argparse.Namespace, accounts: list[str]) -> str | None:
    """On aws, the caller's account must be on the allow-list before anything runs."""
    if args.backend != "aws":
        return None
    from harness.backends import BackendError
    from harness.backends.aws import aws

    try:
        with aws(args.profile, accounts):
            return None
    except BackendError as e:
        return " ".join(str(e).split())


def _run(args: argparse.Namespace) -> int:
    from harness import settings

    accounts = _accounts(args.allowed_account)
    problem = _check_experiment(args.experiment) or _check_account(args, accounts)
    if problem:
        return error(PROG, problem)
    out = (
        args.out or settings.RUNS_DIR / "chaos" / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.experiment.stem}"
    ).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return error(PROG, f"--out {out}: cannot create the directory: {e.strerror or e}")
    log_path = out / "chaostoolkit.log"
    journal_path = out / "journal.json"
    values = {
        "harness_backend": args.backend,
        "harness_allowed_accounts": ",".join(accounts),
        "harness_worker": ",".join(args.worker),
        "harness_out": str(out),
    }
    env = {**os.environ, **{f"HARNESS_{k.removeprefix('harness_').upper()}": v for k, v in values.items()}}
    env["HARNESS_CHAOS_OUT"] = str(out)
    if args.profile:
        env["AWS_PROFILE"] = args.profile
    cmd = [sys.executable, "-m", "chaostoolkit", "--log-file", str(log_path), "run"]
    cmd += ["--journal-path", str(journal_path)]
    for key, value in values.items():
        cmd += ["--var", f"{key}={value}"]
    cmd.append(str(args.experiment))
    code = _call(cmd, env)
    if not journal_path.exists():
        cause = first_error(log_path) or f"see {log_path}"
        return error(PROG, f"chaos run exited with {code} and wrote no journal: {cause}")
    try:
        journal = load(journal_path)
    except (OSError, ValueError) as e:
        return error(
            PROG, f"{journal_path}: chaos run (exit {code}) left a journal that cannot be judged: {e}"
        )
    return _report(args.experiment.stem, judge(journal), journal_path, journal)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_ERROR = re.compile(r"^\[[^\]]*\b(?:ERROR|CRITICAL)\]\s*(?:\[[\w.<>-]+:\d+\]\s*)?(?P<message>\S.*)$")


def first_error(log: Path) -> str | None:
    """The message of the first ERROR (or CRITICAL) record in Chaos Toolkit's
    log file (``[time LEVEL] [module:line] message``), or None."""
    try:
        with log.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = _LOG_ERROR.match(_ANSI.sub("", line).strip())
                if m:
                    return m.group("message").strip()
    except OSError:
        return None
    return None


def _call(cmd: list[str], env: dict[str, str]) -> int:
    """Run Chaos Toolkit; a Ctrl-C reaches it (same process group) and this
    process waits for its rollbacks and clean stop instead of dying first."""
    proc = subprocess.Popen(cmd, env=env)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, old)


def _report(name: str, verdict: Judgement, journal_path: Path, journal: dict[str, object]) -> int:
    """Print the judgement; an experiment that could not be carried out is
    also one line on stderr (exit 2, as for any bad input)."""
    print(f"harness chaos: {name}: {verdict.word}: {verdict.summary}")
    for line in verdict.details:
        print(f"  {line}")
    print(f"  journal: {journal_path}")
    harness = journal.get("harness")
    if isinstance(harness, dict) and harness.get("history"):
        print(f"  history: {harness['history']}")
    if verdict.code == ERROR:
        return error(PROG, f"{name}: {verdict.summary}")
    return verdict.code
