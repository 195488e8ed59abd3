"""``harness deploy``: create the system's resources on a backend (the
reference system's unless ``--system`` names another).

    harness deploy --backend embedded|localstack|aws [--system pkg.module:obj] [--prefix P]
                   [--allowed-account ID ...] [--profile NAME]
                   [--tag KEY=VALUE ...] [--state-machine [--role-arn ARN]] [--out FILE]

Idempotent (run it again and nothing changes) and every resource is tagged
``harness:system``, ``harness:prefix``, ``harness:deployed-by`` plus the given
tags. On ``aws`` the credentials' account must be on the allow-list, checked
with STS before anything is created. On the emulators the resources last as
long as the command: it is a dry run of the deployment.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.cli_parser import OneLineParser, error, int_in

EXIT_OK, EXIT_BAD_INPUT = 0, 2
PROG = "harness deploy"


def build_parser() -> argparse.ArgumentParser:
    from harness.backends.named import BACKENDS

    ap = OneLineParser(
        prog="harness deploy",
        description="Create the system's resources on a backend: idempotent, every resource tagged.",
    )
    ap.add_argument(
        "--system", default=None, metavar="pkg.module:obj", help="the system (default: the reference system)"
    )
    ap.add_argument("--backend", required=True, choices=list(BACKENDS), help="where to deploy")
    ap.add_argument("--prefix", default="mas", help="name prefix of every resource (default: mas)")
    ap.add_argument(
        "--allowed-account",
        action="append",
        default=[],
        metavar="ID",
        help="an AWS account id the aws backend may touch (repeat, or comma-separate); required for aws",
    )
    ap.add_argument(
        "--profile", default=None, help="AWS profile for the aws backend (default: the usual chain)"
    )
    ap.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="extra tag (repeatable)")
    ap.add_argument(
        "--state-machine", action="store_true", help="also deploy the Step Functions orchestration"
    )
    ap.add_argument(
        "--role-arn",
        default=None,
        help="IAM role Step Functions assumes (required with --state-machine on aws)",
    )
    ap.add_argument(
        "--visibility-timeout",
        type=int_in(0, 43200),
        default=None,
        help="capability queues' visibility timeout in seconds (default: 30, or with --state-machine "
        "the heartbeat timeout plus 30, so a crashed worker's subtask is retried by the state machine)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write the resources as JSON to this file")
    return ap


def _tags(pairs: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag {pair!r} must look like KEY=VALUE")
        tags[key] = value
    return tags


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    accounts = [a for item in args.allowed_account for a in item.split(",") if a.strip()]
    try:
        tags = {"harness:deployed-by": "harness deploy", **_tags(args.tag)}
    except ValueError as e:
        return error(PROG, e)
    if args.backend == "aws" and args.state_machine and not args.role_arn:
        return error(PROG, "--state-machine on aws needs --role-arn")
    if args.out is not None and (args.out.is_dir() or not args.out.parent.is_dir()):
        what = "is a directory" if args.out.is_dir() else f"{args.out.parent} is not a directory"
        return error(PROG, f"--out {args.out}: {what}")

    from harness.backends import BackendError, open_backend
    from harness.instrument.session import plain_session

    try:
        with open_backend(args.backend, profile=args.profile, allowed_accounts=accounts) as ep:
            summary = deploy_all(
                plain_session(ep),
                args.prefix,
                tags=tags,
                state_machine=args.state_machine,
                role_arn=args.role_arn,
                visibility_timeout=args.visibility_timeout,
                system=args.system,
            )
            summary["backend"] = ep.backend
            summary["region"] = ep.region
    except (BackendError, ValueError) as e:
        return error(PROG, e)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out is not None:
        try:
            args.out.write_text(text + "\n")
        except OSError as e:
            return error(PROG, f"--out {args.out}: cannot write: {e.strerror or e}")
    return EXIT_OK


def deploy_all(
    session: object,
    prefix: str,
    *,
    tags: dict[str, str],
    state_machine: bool = False,
    role_arn: str | None = None,
    visibility_timeout: int | None = None,
    system: str | None = None,
) -> dict[str, object]:
    """Deploy the system (default: the reference system, with its optional
    Step Functions orchestration); returns a JSON-ready summary."""
    from harness.system import load_object, load_system

    if system is None:
        full = load_object(REFERENCE_DEPLOY)
        return dict(
            full(
                session,
                prefix,
                tags=tags,
                state_machine=state_machine,
                role_arn=role_arn,
                visibility_timeout=visibility_timeout,
            )
        )
    if state_machine:
        raise ValueError("--state-machine deploys the reference system's orchestration only")
    sut = load_system(system)
    res = sut.deploy(session, prefix, visibility_timeout=visibility_timeout or 30)
    return {"resources": json.loads(sut.dump_resources(res)), "tags": tags, "system": system}


#: The reference system's deployment, with its optional state machine.
REFERENCE_DEPLOY = "reference_system.deployment:deploy_all"
