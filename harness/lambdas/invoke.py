"""One Lambda invocation: the context, the timeout, the faults, the record.

Each invocation is recorded as an operation ``lambda.invoke`` on the process
``<agent process>/lambda`` (the handler's own AWS calls are recorded on the
agent's process inside it, so neither process ever has two operations open):

    invoke  key = function name, value = {request_id, batch_size, ids, ...}
    ok      the handler returned (value adds ``failed``: the ids it reported)
    fail    it certainly did not succeed: throttled (no handler ran), the
            handler raised (a function error), or its response was invalid
    info    outcome unknown: it timed out part-way, or its response was lost

The invocation also passes, as an AWS call ``lambda.Invoke`` keyed by the
function name, through the session's interceptor chain, so a fault plan
reaches it with the kinds it already has: ``throttle`` (the event source
mapping is throttled: nothing runs), ``delay`` (latency before the handler
starts: a cold start), ``drop_request`` / ``partition`` (the poller cannot
reach Lambda: nothing runs), ``lose_ack`` (the handler ran, its response
never reached the poller) and ``crash`` (the poller dies before or after).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.awsrequest import AWSResponse

from harness.history.model import FAIL, INFO, INVOKE, OK
from harness.instrument.context import correlation
from harness.instrument.session import Call, HttpAndParsed
from harness.lambdas.context import (
    LambdaContext,
    LambdaTimeout,
    function_arn,
    guard_for,
    interceptor_chain,
    log_stream_name,
)

#: A Lambda handler: ``handler(event, context) -> response``.
Handler = Callable[[Any, LambdaContext], Any]

Status = Literal["ok", "error", "timeout", "throttled", "lost"]

#: Lambda's error code for a throttled invocation.
THROTTLED = "TooManyRequestsException"


@dataclass(frozen=True)
class LambdaFaults:
    """Lambda faults a fault plan has no kind for (see docs/lambda.md)."""

    #: Seconds of initialisation before an execution environment's first
    #: invocation (and the first after a timeout, which resets it). The
    #: batch is held meanwhile: its visibility timeout keeps running.
    cold_start: float = 0.0
    #: Every k-th invocation attempt is throttled (nothing runs).
    throttle_every: int | None = None
    #: Every k-th invocation hangs until its timeout (it is stopped at its
    #: first AWS call, or when it returns).
    timeout_every: int | None = None

    def __post_init__(self) -> None:
        if self.cold_start < 0:
            raise ValueError("cold_start must not be negative")
        for name in ("throttle_every", "timeout_every"):
            k = getattr(self, name)
            if k is not None and k < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass
class Outcome:
    """How one invocation ended."""

    status: Status
    request_id: str
    response: Any = None
    error: str | None = None
    #: The instant (on the function's clock) its timeout ran or would run out.
    deadline: float = 0.0
    #: Ids the handler reported failed (partial batch response).
    failed: frozenset[str] = frozenset()


class _HandlerError(Exception):  # noqa: N818 - a wrapper, never seen outside
    def __init__(self, error: BaseException, code: str) -> None:
        super().__init__(code)
        self.error = error
        self.code = code


#: Reads a successful response: returns the ids reported failed, or raises
#: ValueError (an invalid response: the invocation failed).
Judge = Callable[[Any], frozenset[str]]


@dataclass
class Function:
    """A Lambda function's configuration and the invocations it has had."""

    handler: Handler
    session: Any
    name: str
    timeout: float = 3.0
    memory_mb: int = 128
    clock: Callable[[], float] = time.monotonic
    ids: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    faults: LambdaFaults = field(default_factory=LambdaFaults)
    region: str = "us-east-1"
    account: str = "123456789012"
    attempts: int = 0
    invocations: int = 0
    #: The execution environment has initialised (no cold start due).
    warm: bool = False
    _stream: str | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    # -- naming ---------------------------------------------------------------------

    @property
    def agent(self) -> str:
        return str(getattr(self.session, "agent", self.name))

    def _process(self) -> str:
        inst = getattr(self.session, "instrumentation", None)
        proc = inst.process_name() if inst is not None else self.agent
        return f"{proc}/lambda"

    def _record(self, typ: str, value: Any, cid: str | None, error: str | None = None) -> None:
        rec = getattr(self.session, "recorder", None)
        if rec is not None:
            rec.record(
                self._process(),
                typ,
                "lambda.invoke",
                self.name,
                value,
                correlation_id=cid,
                error=error,
                agent=self.agent,
            )

    def note_fault(self, kind: str, **value: Any) -> None:
        """Record an injected Lambda fault as the fault plan's are recorded."""
        from harness.faults.injector import NEMESIS

        rec = getattr(self.session, "recorder", None)
        if rec is not None:
            rec.record(NEMESIS, INFO, f"fault.{kind}", f"{self.agent}:lambda.Invoke", value or None)

    def new_context(self, request_id: str) -> LambdaContext:
        if self._stream is None:
            self._stream = log_stream_name(self.ids())
        now = self.clock()
        return LambdaContext(
            aws_request_id=request_id,
            function_name=self.name,
            invoked_function_arn=function_arn(self.name, self.region, self.account),
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=self._stream,
            memory_limit_in_mb=str(self.memory_mb),
            timeout=self.timeout,
            deadline=now + self.timeout,
            clock=self.clock,
        )

    def reset(self) -> None:
        """The execution environment is thrown away (after a timeout): the
        next invocation starts cold, in a new log stream."""
        self.warm = False
        self._stream = None

    # -- invoking -------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        value: Mapping[str, Any],
        correlation_id: str | None = None,
        judge: Judge | None = None,
    ) -> Outcome:
        """Invoke the handler once with ``event`` (``value`` goes into the
        recorded invocation) and say how it went."""
        request_id = self.ids()
        self.attempts += 1
        cid = correlation_id
        self._record(INVOKE, {"request_id": request_id, **value}, cid)
        done = {"request_id": request_id}
        if self.faults.throttle_every and self.attempts % self.faults.throttle_every == 0:
            self.note_fault("lambda_throttle", agent=self.agent, function=self.name)
            self._record(FAIL, done, cid, THROTTLED)
            return Outcome("throttled", request_id, error=THROTTLED)
        ctx = self.new_context(request_id)
        ran = False
        #: When the runtime would stop the handler at the latest.
        end = ctx.deadline

        def proceed() -> HttpAndParsed:
            nonlocal ran, end
            ran = True
            self.invocations += 1
            # The timeout counts from when the handler starts (after any
            # latency or cold start the fault plan put before it).
            ctx.deadline = end = self.clock() + self.timeout
            if self.faults.timeout_every and self.invocations % self.faults.timeout_every == 0:
                self.note_fault("lambda_timeout", agent=self.agent, function=self.name, seconds=self.timeout)
                ctx.deadline = self.clock()  # it hangs: its time is up at its first call
            return _response({"Payload": self._run(event, ctx, cid)})

        call = Call(
            self.agent,
            self._process(),
            "lambda",
            "Invoke",
            {"FunctionName": self.name, "InvocationType": "RequestResponse"},
            cid,
            self.name,
        )
        chain = proceed
        for interceptor in reversed(interceptor_chain(self.session)):
            chain = _bind(interceptor, call, chain)
        try:
            http, parsed = chain()
        except LambdaTimeout as e:
            self._record(INFO, done, cid, "LambdaTimeout")
            return Outcome("timeout", request_id, error=str(e), deadline=end)
        except _HandlerError as e:
            self._record(FAIL, done, cid, e.code)
            return Outcome("error", request_id, error=e.code, deadline=end)
        except Exception as e:
            code = _code_of(e)
            if ran:  # the handler ran; its response never reached the poller
                self._record(INFO, done, cid, code)
                return Outcome("lost", request_id, error=code, deadline=end)
            self._record(FAIL, done, cid, code)
            return Outcome("throttled", request_id, error=code)
        if http.status_code >= 300:
            code = (parsed.get("Error") or {}).get("Code") or f"HTTP{http.status_code}"
            if ran:  # an error answer after the handler ran: its response was lost
                self._record(INFO, done, cid, code)
                return Outcome("lost", request_id, error=code, deadline=end)
            self._record(FAIL, done, cid, code)  # answered in its place: a throttle
            return Outcome("throttled", request_id, error=code)
        response = parsed.get("Payload")
        failed: frozenset[str] = frozenset()
        if judge is not None:
            try:
                failed = judge(response)
            except ValueError as e:
                self._record(FAIL, {**done, "response": str(e)}, cid, "InvalidBatchItemFailures")
                return Outcome("error", request_id, response, "InvalidBatchItemFailures", end)
        self._record(OK, {**done, "failed": sorted(failed)} if failed else done, cid)
        return Outcome("ok", request_id, response, deadline=end, failed=failed)

    def _run(self, event: Any, ctx: LambdaContext, cid: str | None) -> Any:
        guard = guard_for(self.session)
        try:
            with correlation(cid):
                if guard is None:
                    out = self.handler(event, ctx)
                else:
                    with guard.running(ctx):
                        out = self.handler(event, ctx)
        except LambdaTimeout:
            ctx.timed_out = True
            raise
        except Exception as e:
            if ctx.timed_out:  # it caught its timeout and failed otherwise
                raise LambdaTimeout(self.name, self.timeout) from e
            raise _HandlerError(e, type(e).__name__) from e
        # Returned, but after its time ran out (or after swallowing its
        # timeout): the runtime would have stopped it; its answer is void.
        ctx.check()
        try:
            json.dumps(out)
        except (TypeError, ValueError) as e:
            raise _HandlerError(e, "Runtime.MarshalError") from e
        return out


def _bind(interceptor: Any, call: Call, proceed: Callable[[], HttpAndParsed]) -> Callable[[], HttpAndParsed]:
    return lambda: interceptor.intercept(call, proceed)


def _response(parsed: dict[str, Any]) -> HttpAndParsed:
    http = AWSResponse("https://lambda.harness.invalid/", 200, {}, None)
    http._content = b""
    return http, parsed


def _code_of(e: Exception) -> str:
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(e).__name__
