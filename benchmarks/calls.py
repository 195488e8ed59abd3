"""Per-call cost of recording: the same call, N times, through a plain client
and through an instrumented one, in alternating blocks.

Three backends: ``null`` answers every call from a canned response inside
botocore (no emulator, so the ratio is the instrumentation against botocore's
own client-side work: the worst case), ``inprocess`` and ``server`` are the
embedded moto backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

import harness
from benchmarks.result import BenchResult
from benchmarks.stats import Timing, alternating, ratio, timed
from harness import settings
from harness.backends.endpoints import Endpoints
from harness.history.recorder import Recorder
from harness.instrument.context import MESSAGE_ID_ATTR
from harness.instrument.session import plain_session

Backend = str
BACKENDS: tuple[Backend, ...] = ("null", "inprocess", "server")

TABLE = "bench-calls"
QUEUE = "bench-calls"
WARMUP_CALLS = 10


@dataclass(frozen=True)
class Case:
    """One call to repeat, made from a client; ``prepare`` runs (untimed) before each block."""

    name: str
    service: str
    call: Callable[[Any], Any]
    prepare: Callable[[], None] | None = None


def _get_item(ddb: Any) -> Any:
    return ddb.get_item(TableName=TABLE, Key={"pk": {"S": "k"}})


class _SendMessage:
    """SendMessage to a queue made fresh for each block: moto's SendMessage
    slows down as a queue fills, which would favour whichever variant ran first.

    Each message carries its own message-id attribute, as the reference
    system's do, so the instrumented Session stamps nothing and both variants
    send the same request (stamping one attribute onto a bare message costs
    more in moto's attribute handling than the hooks themselves)."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._blocks = 0
        self._sent = 0
        self.queue_url = ""

    def prepare(self) -> None:
        self._blocks += 1
        self.queue_url = self._sqs.create_queue(QueueName=f"{QUEUE}-{self._blocks}")["QueueUrl"]

    def __call__(self, sqs: Any) -> Any:
        self._sent += 1
        attrs = {MESSAGE_ID_ATTR: {"DataType": "String", "StringValue": f"m{self._sent}"}}
        return sqs.send_message(QueueUrl=self.queue_url, MessageBody="x" * 64, MessageAttributes=attrs)


def _null_get_item(**_: Any) -> AWSResponse:
    http = AWSResponse("http://null.invalid/", 200, {"content-type": "application/x-amz-json-1.0"}, None)
    http._content = b'{"Item": {"pk": {"S": "k"}, "v": {"N": "1"}}}'
    return http


@contextmanager
def _backend(name: Backend) -> Iterator[tuple[Endpoints, list[Case]]]:
    """Endpoints for ``name`` with its resources created, and the cases it runs."""
    if name == "null":
        yield (
            Endpoints(
                backend="null",
                region=settings.REGION,
                access_key=settings.EMULATOR_ACCESS_KEY,
                secret_key=settings.EMULATOR_SECRET_KEY,
                urls={"dynamodb": "http://127.0.0.1:9"},  # never reached
            ),
            [Case("dynamodb.GetItem", "dynamodb", _get_item)],
        )
        return
    with harness.embedded(name) as endpoints:  # type: ignore[arg-type]
        s = plain_session(endpoints)
        ddb = s.client("dynamodb")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "k"}, "v": {"N": "1"}})
        send = _SendMessage(s.client("sqs"))
        yield (
            endpoints,
            [
                Case("dynamodb.GetItem", "dynamodb", _get_item),
                Case("sqs.SendMessage", "sqs", send, send.prepare),
            ],
        )


def _client(session: boto3.Session, backend: Backend, service: str) -> Any:
    client = session.client(service)
    if backend == "null":
        client.meta.events.register("before-send.dynamodb.GetItem", _null_get_item)
    return client


def _block(client: Any, case: Case, n: int) -> Timing:
    """Seconds per call (wall and CPU) over ``n`` calls."""
    if case.prepare is not None:
        case.prepare()

    def calls() -> None:
        for _ in range(n):
            case.call(client)

    t, _ = timed(calls)
    return Timing(t.wall / n, t.cpu / n)


def _us(xs: list[Timing], cpu: bool) -> list[float]:
    return [1e6 * (x.cpu if cpu else x.wall) for x in xs]


def _added(a: float, b: float) -> float:
    return a - b


def bench_calls(*, calls: int, repeat: int, backends: tuple[Backend, ...] = BACKENDS) -> BenchResult:
    out = BenchResult(
        name="calls",
        description=f"one call repeated {calls} times per block, {repeat} blocks per variant",
    )
    cases_data: list[dict[str, Any]] = []
    for backend in backends:
        with _backend(backend) as (endpoints, cases):
            sessions = {"a": harness.session(endpoints, "bench", Recorder()), "b": plain_session(endpoints)}
            for case in cases:
                clients = {v: _client(s, backend, case.service) for v, s in sessions.items()}
                for c in clients.values():
                    _block(c, case, WARMUP_CALLS)
                per_call: dict[str, list[Timing]] = {"a": [], "b": []}
                for _, order in alternating(repeat):
                    for v in order:
                        per_call[v].append(_block(clients[v], case, calls))
                label = f"{backend} {case.name}"
                a_wall, b_wall = _us(per_call["a"], False), _us(per_call["b"], False)
                a_cpu, b_cpu = _us(per_call["a"], True), _us(per_call["b"], True)
                out.add(f"{label}: plain", "us/call", b_wall, "wall")
                out.add(f"{label}: instrumented", "us/call", a_wall, "wall")
                out.add_paired(f"{label}: added", "us/call", a_wall, b_wall, _added, "wall")
                out.add_paired(f"{label}: ratio", "x", a_wall, b_wall, ratio, "wall")
                added_cpu = out.add_paired(f"{label}: added", "us/call", a_cpu, b_cpu, _added, "CPU")
                ratio_cpu = out.add_paired(f"{label}: ratio", "x", a_cpu, b_cpu, ratio, "CPU")
                cases_data.append(
                    {
                        "backend": backend,
                        "call": case.name,
                        "plain_wall_us": b_wall,
                        "instrumented_wall_us": a_wall,
                        "plain_cpu_us": b_cpu,
                        "instrumented_cpu_us": a_cpu,
                        "added_cpu_us": added_cpu.summary.median,
                        "ratio_cpu": ratio_cpu.summary.median,
                    }
                )
    out.data = {"calls": calls, "repeat": repeat, "cases": cases_data}
    return out
