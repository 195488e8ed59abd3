"""The LocalStack backend: LocalStack in host mode, plus AWS's DynamoDB Local.

Both run as child processes on free loopback ports; nothing is shared between
two open backends, so pytest-xdist workers each get their own. LocalStack serves
SQS, SNS, EventBridge, Step Functions and STS; DynamoDB goes to DynamoDB Local
(LocalStack's own DynamoDB needs downloads that fail offline), wired in through
a per-service endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import settings
from harness.backends._install import dynamodb_local, localstack_python, localstack_static
from harness.backends._proc import Server, free_port, http_ok, port_in_use, stop_all
from harness.backends._tools import find_java
from harness.backends.embedded import BackendError
from harness.backends.endpoints import Endpoints

#: Services answered by LocalStack (everything the harness uses but DynamoDB).
LOCALSTACK_SERVICES: tuple[str, ...] = ("sqs", "sns", "events", "stepfunctions", "sts")

#: The account LocalStack reports for any credentials that are not an account id.
LOCALSTACK_ACCOUNT = "000000000000"

#: Where LocalStack writes S3 objects whatever FILESYSTEM_ROOT says.
_STRAY_S3_DIR = "localstack-s3-storage"


@dataclass
class Timings:
    """Seconds spent getting a LocalStack backend ready (for benchmarks)."""

    install: float = 0.0
    localstack: float = 0.0
    dynamodb: float = 0.0
    total: float = 0.0


#: Filled in by each ``localstack()`` as it starts.
last_timings = Timings()


def _localstack_env(port: int, work: Path) -> dict[str, str]:
    host = f"{settings.LOOPBACK}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_"))}
    (work / "tmp").mkdir(exist_ok=True)
    env.update(
        OVERRIDE_IN_DOCKER="0",
        FILESYSTEM_ROOT=str(work / "fs"),
        GATEWAY_LISTEN=host,
        GATEWAY_SERVER="hypercorn",
        LOCALSTACK_HOST=host,
        DNS_ADDRESS="0",
        SKIP_SSL_CERT_DOWNLOAD="1",
        DISABLE_EVENTS="1",
        SQS_ENDPOINT_STRATEGY="path",
        TMPDIR=str(work / "tmp"),
        XDG_CACHE_HOME=str(work / "cache"),  # the plugin index LocalStack writes at every start
        SERVICES=",".join(LOCALSTACK_SERVICES),
        EAGER_SERVICE_LOADING="1",
    )
    return env


def _start_localstack(python: Path, static: Path, work: Path) -> tuple[Server, str]:
    libs = work / "fs" / "usr" / "lib" / "localstack"
    if not libs.exists():
        libs.parent.mkdir(parents=True, exist_ok=True)
        libs.symlink_to(static, target_is_directory=True)
    port = free_port()
    cmd = [str(python), "-m", "localstack.runtime.main"]
    server = Server("LocalStack", cmd, _localstack_env(port, work), work / "localstack.log", work)
    return server, f"http://{settings.LOOPBACK}:{port}"


def _start_dynamodb(java: str, home: Path, work: Path) -> tuple[Server, str]:
    port = free_port()
    while port_in_use(port):  # it binds every interface, not only loopback
        port = free_port()
    cmd = [
        java,
        f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
        "-jar",
        str(home / "DynamoDBLocal.jar"),
        "-inMemory",
        "-port",
        str(port),
        "-disableTelemetry",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = Server("DynamoDB Local", cmd, env, work / "dynamodb.log", work)
    return server, f"http://{settings.LOOPBACK}:{port}"


def _localstack_ready(url: str) -> bool:
    return http_ok(f"{url}/_localstack/health")


def _dynamodb_ready(url: str) -> bool:
    req = urllib.request.Request(
        url,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310 - loopback only
        return resp.status == 200 and "TableNames" in json.loads(resp.read())


Starter = Callable[[], tuple[Server, str]]


def _await(
    first: tuple[Server, str], start: Starter, probe: Callable[[str], bool], timeout: float
) -> tuple[Server, str, float]:
    """Wait for a started server; when it lost its port to another process, start it again on another."""
    server, url = first
    for attempt in range(3):
        try:
            return server, url, server.wait_ready(lambda u=url: probe(u), timeout)
        except BackendError as e:
            server.stop()
            if attempt == 2 or "in use" not in str(e).lower():
                raise
        server, url = start()
    raise AssertionError("unreachable")


@contextmanager
def localstack(*, startup_timeout: float = 120.0) -> Iterator[Endpoints]:
    """Start LocalStack and DynamoDB Local and yield their endpoints.

    The first call installs LocalStack (a Python 3.13 virtualenv) and fetches
    DynamoDB Local (npm) into the project's cache; later calls reuse them. On
    exit both processes get SIGTERM, then SIGKILL, and every file they wrote is
    removed.
    """
    t0 = time.monotonic()
    java = find_java()
    python = localstack_python()
    static = localstack_static(python)
    ddb_home = dynamodb_local()
    t_ready = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="harness-localstack."))
    servers: list[Server] = []
    try:
        start_ls: Starter = lambda: _start_localstack(python, static, work)  # noqa: E731
        start_ddb: Starter = lambda: _start_dynamodb(java, ddb_home, work)  # noqa: E731
        # Both start at once; each is then awaited (and moved if its port was taken).
        first_ls, first_ddb = start_ls(), start_ddb()
        servers += [first_ls[0], first_ddb[0]]
        ls, ls_url, t_ls = _await(first_ls, start_ls, _localstack_ready, startup_timeout)
        servers[0] = ls
        ddb, ddb_url, t_ddb = _await(first_ddb, start_ddb, _dynamodb_ready, startup_timeout)
        servers[1] = ddb
        last_timings.install = t_ready - t0
        last_timings.localstack = t_ls
        last_timings.dynamodb = t_ddb
        last_timings.total = time.monotonic() - t0
        urls: dict[str, str | None] = {svc: ls_url for svc in LOCALSTACK_SERVICES}
        urls["dynamodb"] = ddb_url
        yield Endpoints(
            backend="localstack",
            region=settings.REGION,
            access_key=settings.EMULATOR_ACCESS_KEY,
            secret_key=settings.EMULATOR_SECRET_KEY,
            urls=urls,
            admin_url=ls_url,
        )
    finally:
        stop_all(servers)
        shutil.rmtree(work, ignore_errors=True)


def reset(endpoints: Endpoints) -> None:
    """Empty a running LocalStack backend between tests: delete every queue,
    topic, state machine and DynamoDB table (LocalStack's community edition
    has no state-reset endpoint, and DynamoDB Local is in memory)."""
    import boto3

    sess = boto3.Session(**endpoints.session_kwargs())

    def client(svc: str) -> Any:
        return sess.client(svc, endpoint_url=endpoints.url_for(svc))

    sqs = client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
            sqs.delete_queue(QueueUrl=url)
    sns = client("sns")
    for page in sns.get_paginator("list_topics").paginate():
        for t in page.get("Topics", []):
            sns.delete_topic(TopicArn=t["TopicArn"])
    sfn = client("stepfunctions")
    for page in sfn.get_paginator("list_state_machines").paginate():
        for m in page.get("stateMachines", []):
            sfn.delete_state_machine(stateMachineArn=m["stateMachineArn"])
    ddb = client("dynamodb")
    for page in ddb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
                ddb.delete_table(TableName=name)
