"""The aws backend: real AWS endpoints, guarded by an account allow-list.

Before anything else it asks STS whose credentials these are
(GetCallerIdentity) and refuses any account not on the allow-list, so a run
meant for staging can never touch production by a wrong profile or a stale
environment. Endpoint overrides in the environment (``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``, honoured by boto3) apply as usual; the tests
use them to stand LocalStack in for the remote account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from harness import settings
from harness.backends.embedded import BackendError
from harness.backends.endpoints import Endpoints


class AccountNotAllowed(BackendError):
    """The credentials belong to an account outside the allow-list."""


def _normalise(accounts: Iterable[str]) -> list[str]:
    out = []
    for a in accounts:
        a = str(a).strip()
        if not (len(a) == 12 and a.isdigit()):
            raise BackendError(f"allowed account {a!r} is not a 12-digit AWS account id")
        out.append(a)
    return out


def caller_account(profile: str | None = None, region: str | None = None) -> tuple[str, str]:
    """(account id, caller ARN) of the credentials ``profile`` (or the default chain) resolves to."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sess = boto3.Session(profile_name=profile, region_name=region)
        ident = sess.client("sts").get_caller_identity()
    except ClientError as e:
        err = e.response.get("Error", {})
        raise BackendError(
            f"STS GetCallerIdentity refused: {err.get('Code', 'error')}: {err.get('Message', '')}".strip()
        ) from None
    except BotoCoreError as e:
        raise BackendError(f"cannot identify the AWS account: {e}") from None
    return str(ident["Account"]), str(ident.get("Arn", ""))


@contextmanager
def aws(
    profile: str | None = None,
    allowed_accounts: Iterable[str] = (),
    *,
    region: str | None = None,
) -> Iterator[Endpoints]:
    """Yield endpoints for the real AWS account behind ``profile`` (or the
    default credential chain), after checking it is one of ``allowed_accounts``.

    An empty allow-list refuses every account: there is no default target.
    The credentials are resolved once and carried in the endpoints, so agents
    started as processes use the same identity.
    """
    allowed = _normalise(allowed_accounts)
    if not allowed:
        raise AccountNotAllowed(
            "the aws backend needs an allow-list: name the staging account(s) it may touch"
        )
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        region = region or boto3.Session(profile_name=profile).region_name or settings.REGION
    except ProfileNotFound as e:
        raise BackendError(str(e)) from None
    account, arn = caller_account(profile, region)
    if account not in allowed:
        raise AccountNotAllowed(
            f"account {account} ({arn}) is not in the allow-list ({', '.join(allowed)}): refusing to touch it"
        )
    creds = boto3.Session(profile_name=profile, region_name=region).get_credentials()
    if creds is None:
        raise BackendError("no AWS credentials found")
    frozen = creds.get_frozen_credentials()
    yield Endpoints(
        backend="aws",
        region=region,
        access_key=frozen.access_key,
        secret_key=frozen.secret_key,
        session_token=frozen.token,
        allowed_accounts=allowed,
    )


def check_account(ep: Endpoints) -> None:
    """For a process handed real AWS credentials (``ep.backend == "aws"``):
    ask STS whose they are and refuse (:class:`AccountNotAllowed`) an
    account not on ``ep.allowed_accounts`` (an empty list refuses every
    one). Other backends pass."""
    if ep.backend != "aws":
        return
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    allowed = _normalise(ep.allowed_accounts)
    try:
        ident = boto3.Session(**ep.session_kwargs()).client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as e:
        raise BackendError(f"cannot identify the AWS account: {e}") from None
    account = str(ident["Account"])
    if account not in allowed:
        raise AccountNotAllowed(
            f"account {account} is not in the allow-list ({', '.join(allowed) or 'empty'}): refusing to touch it"
        )
