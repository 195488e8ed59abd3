"""The Lambda context object, and the timeout that interrupts a handler.

A real Lambda runtime kills a handler that runs past its timeout wherever it
stands. Here the handler runs in the agent's own thread, so it can only be
stopped where the harness sees it: at each AWS call it makes through the
instrumented Session (see :class:`TimeoutGuard`), and when it returns. A
handler computing without making calls is not interrupted in between.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.instrument.session import Call, HttpAndParsed


class LambdaTimeout(Exception):  # noqa: N818 - named after what Lambda reports
    """The invocation ran past its timeout ("Task timed out after N seconds").

    Raised at the handler's next AWS call once its time is up. The adapter
    counts the invocation as timed out even if the handler catches this and
    goes on: its later AWS calls raise again, and what it returns is ignored,
    as the real runtime would have stopped it."""

    def __init__(self, function_name: str, timeout: float) -> None:
        super().__init__(f"{function_name}: task timed out after {timeout:.2f} seconds")
        self.function_name = function_name
        self.timeout = timeout


@dataclass
class LambdaContext:
    """What the Python runtime passes as ``context`` (the AWS Lambda developer
    guide's "Lambda context object in Python")."""

    aws_request_id: str
    function_name: str
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str
    #: A string, as the Python runtime gives it (it reads
    #: ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` from the environment).
    memory_limit_in_mb: str = "128"
    function_version: str = "$LATEST"
    #: Only for mobile SDK invocations; None for event source mappings and
    #: asynchronous invocations.
    identity: Any = None
    client_context: Any = None
    #: The timeout in seconds and the instant (on ``clock``) it runs out.
    timeout: float = field(default=3.0, repr=False)
    deadline: float = field(default=0.0, repr=False)
    clock: Callable[[], float] = field(default=lambda: 0.0, repr=False)
    #: Set once the handler has been stopped by its timeout.
    timed_out: bool = field(default=False, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (never negative)."""
        return max(0, int((self.deadline - self.clock()) * 1000))

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def check(self) -> None:
        """Raise :class:`LambdaTimeout` if the time is up (and remember it)."""
        if self.timed_out or self.expired():
            self.timed_out = True
            raise LambdaTimeout(self.function_name, self.timeout)


def function_arn(name: str, region: str, account: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def log_stream_name(instance_id: str, version: str = "$LATEST") -> str:
    """``YYYY/MM/DD/[version]id``, the form Lambda names an execution
    environment's log stream in (dated by the process's wall clock, which the
    simulator freezes)."""
    day = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{instance_id.replace('-', '')[:32]}"


class TimeoutGuard:
    """An interceptor that stops a running handler at its AWS calls once its
    time is up: before the call (it is not sent) and after it (it was
    applied, but the handler never sees the answer). Either way the call is
    recorded with an unknown outcome (``info``, error ``LambdaTimeout``).

    Only calls made in the thread running the handler are checked; threads
    the handler starts itself are not."""

    def __init__(self) -> None:
        self._running: dict[int, LambdaContext] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(self, ctx: LambdaContext) -> Iterator[LambdaContext]:
        me = threading.get_ident()
        with self._lock:
            outer = self._running.get(me)
            self._running[me] = ctx
        try:
            yield ctx
        finally:
            with self._lock:
                if outer is None:
                    self._running.pop(me, None)
                else:
                    self._running[me] = outer

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed:
        ctx = self._running.get(threading.get_ident())
        if ctx is None or call.service == "lambda":
            return proceed()
        ctx.check()
        out = proceed()
        ctx.check()
        return out


def guard_for(session: Any) -> TimeoutGuard | None:
    """The session's guard, installed on first use (None: the session has no
    interceptor chain, e.g. a plain boto3 Session; handlers on it are only
    checked when they return). Looked up at each invocation, because runners
    may rebind a session's interceptors between runs."""
    interceptors = _interceptors(session)
    if interceptors is None:
        return None
    for i in interceptors:
        if isinstance(i, TimeoutGuard):
            return i
    guard = TimeoutGuard()
    session.add_interceptor(guard)
    return guard


def _interceptors(session: Any) -> list[Any] | None:
    inst = getattr(session, "instrumentation", None)
    found = getattr(inst, "interceptors", None)
    if not isinstance(found, list) or not callable(getattr(session, "add_interceptor", None)):
        return None
    return found


def interceptor_chain(session: Any) -> list[Any]:
    """The session's interceptors, outermost first (empty for a plain Session)."""
    return list(_interceptors(session) or [])
