"""The embedded backend: moto, in-process or as a threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from harness import settings
from harness.backends._atomic import atomic_dynamodb
from harness.backends._client_speed import cheaper_client_requests
from harness.backends._dedup import fifo_dedup
from harness.backends._fifo import fifo_in_order
from harness.backends._internal_errors import internal_errors_as_500
from harness.backends._speed import cheaper_requests
from harness.backends.endpoints import SERVICES, Endpoints

Mode = Literal["inprocess", "server"]

#: moto configuration applied to every embedded backend: Step Functions
#: executes its state machines (off by default in moto).
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


class BackendError(RuntimeError):
    """A backend that cannot start or be reached."""


def _post(url: str, body: bytes = b"") -> None:
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
        resp.read()


@contextmanager
def embedded(mode: Mode = "inprocess", *, seed: int | None = None) -> Iterator[Endpoints]:
    """Start moto and yield the endpoints to build clients from.

    ``inprocess`` patches botocore in this process (fastest; every client made
    here reaches moto). ``server`` runs moto's ThreadedMotoServer on a free
    loopback port so that agents in other processes can reach it. State is
    reset on entry and on exit; ``seed`` makes moto's generated ids repeatable.
    """
    if mode not in ("inprocess", "server"):
        raise BackendError(f"unknown embedded mode {mode!r}: use 'inprocess' or 'server'")
    with atomic_dynamodb(), fifo_in_order(), fifo_dedup(), cheaper_requests():
        if mode == "server":
            yield from _server(seed)
            return
        with internal_errors_as_500(), cheaper_client_requests():
            yield from _inprocess(seed)


def _inprocess(seed: int | None) -> Iterator[Endpoints]:
    from moto import mock_aws
    from moto.moto_api._internal import mock_random

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[arg-type]
    mock.start(reset=True)
    if seed is not None:
        mock_random.seed(seed)
    try:
        yield Endpoints(
            backend="embedded-inprocess",
            region=settings.REGION,
            access_key=settings.EMULATOR_ACCESS_KEY,
            secret_key=settings.EMULATOR_SECRET_KEY,
        )
    finally:
        mock.stop(remove_data=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _server(seed: int | None) -> Iterator[Endpoints]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=settings.LOOPBACK, port=0, verbose=False)
    try:
        server.start()
    except OSError as e:
        raise BackendError(f"cannot start moto server on {settings.LOOPBACK}: {e}") from None
    host, port = server.get_host_and_port()
    base = f"http://{settings.LOOPBACK}:{port}"
    saved_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)  # lets moto's Step Functions call back into the server
    try:
        _post(f"{base}/moto-api/reset")
        import orjson

        _post(f"{base}/moto-api/config", orjson.dumps(MOTO_CONFIG))
        if seed is not None:
            _post(f"{base}/moto-api/seed?a={int(seed)}")
        yield Endpoints(
            backend="embedded-server",
            region=settings.REGION,
            access_key=settings.EMULATOR_ACCESS_KEY,
            secret_key=settings.EMULATOR_SECRET_KEY,
            urls={svc: base for svc in SERVICES},
            admin_url=base,
        )
    finally:
        with contextlib.suppress(OSError):
            _post(f"{base}/moto-api/reset")
        server.stop()
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port
