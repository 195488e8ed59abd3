"""How trace context flows through agents that the harness cannot edit.

The unit of a trace is a *task*, named by its correlation id (the reference
system, like any system built on the harness, runs each message's handling
inside ``correlation(cid)``). Every span the harness makes is given a parent
by :meth:`ContextFlow.parent_for` from the correlation id of the work in
progress, so a task's spans form one trace across agents and processes:

1. Inside an agent step (see :class:`~harness.tracing.instrument.TracedAgent`)
   the parent is that step's span *for this task*. A step span is opened
   lazily, the first time the step does something for a task, and dated from
   the step's start; a step that handles messages of three tasks has three
   step spans, one in each task's trace. A step that does nothing makes no
   span at all (idle polls are not traced).
2. A step span's own parent is the trace context of the message that brought
   the task into this step (extracted from its attributes on receive); failing
   that, the last message context this process received for the task; failing
   that, the task's anchor in this process.
3. The anchor is made the first time a process sees a task with no context to
   join: a zero-length ``task`` root span. Normally only the supervisor does
   this, at submission; every other agent joins through messages.

Work with no correlation id (deploying, polling several queues) is traced in
traces of its own, under a step span "for no task". When a step has received
messages carrying correlation ids (and none without), what it then does with no
correlation id is marked with those ids (``harness.received_correlation_ids``):
the agent dropped the correlation id of the task it was handling, and
:meth:`~harness.tracing.SpanQuery.assert_connected` says so.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    get_current_span,
    set_span_in_context,
)

from harness.tracing import semconv as sc

_ROOT = Context()  # an empty context: "no parent"


@dataclass
class StepScope:
    """One agent step in progress."""

    agent: str
    start_ns: int
    spans: dict[str | None, Span] = field(default_factory=dict)
    remote: dict[str | None, Context] = field(default_factory=dict)
    links: dict[str | None, list[Link]] = field(default_factory=dict)
    #: correlation ids of the messages received so far in this step
    handled: set[str] = field(default_factory=set)
    #: whether the step has received a message with no correlation id
    received_cidless: bool = False


_scope: ContextVar[StepScope | None] = ContextVar("harness_tracing_step", default=None)


class ContextFlow:
    """The per-process state behind :meth:`parent_for` (thread-safe)."""

    def __init__(self, tracer: Tracer, *, max_receipts: int = 100_000) -> None:
        self.tracer = tracer
        self._lock = threading.Lock()
        self.anchors: dict[str, Context] = {}
        self.last_remote: dict[str, Context] = {}
        self._receipts: dict[str, str | None] = {}
        self.max_receipts = max_receipts

    # -- steps -------------------------------------------------------------------

    def begin_step(self, agent: str) -> tuple[StepScope, Any]:
        scope = StepScope(agent, time.time_ns())
        return scope, _scope.set(scope)

    def end_step(
        self, scope: StepScope, token: Any, did_work: bool | None, error: BaseException | None
    ) -> None:
        _scope.reset(token)
        for cid, span in scope.spans.items():
            if cid is not None and cid in scope.handled:
                span.set_attribute(sc.RECEIVED_CORRELATION_IDS, [cid])
            if did_work is not None:
                span.set_attribute(sc.STEP_DID_WORK, did_work)
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()

    @staticmethod
    def current_step() -> StepScope | None:
        return _scope.get()

    @staticmethod
    def handling(cid: str | None) -> list[str]:
        """The correlation ids a new span for task ``cid`` should have carried:
        none when it has one (``cid`` is not None) or is made outside a step;
        otherwise those of the messages the step has received so far, unless it
        also received a message with none (then its task-less work may be that
        message's)."""
        scope = _scope.get()
        if cid is not None or scope is None or scope.received_cidless:
            return []
        return sorted(scope.handled)

    # -- parents -----------------------------------------------------------------

    def parent_for(self, cid: str | None) -> Context:
        """The context a new span for task ``cid`` (None: no task) should start in."""
        scope = _scope.get()
        if scope is not None:
            return set_span_in_context(self._step_span(scope, cid))
        if cid is None:
            return _ROOT
        return self._outside_step(cid)

    def _outside_step(self, cid: str) -> Context:
        with self._lock:
            ctx = self.last_remote.get(cid) or self.anchors.get(cid)
        return ctx if ctx is not None else self._anchor(cid)

    def _anchor(self, cid: str) -> Context:
        span = self.tracer.start_span(
            sc.TASK_SPAN, context=_ROOT, kind=SpanKind.INTERNAL, attributes={sc.CORRELATION_ID: cid}
        )
        span.end(span.start_time)  # type: ignore[attr-defined]
        ctx = set_span_in_context(span)
        with self._lock:
            return self.anchors.setdefault(cid, ctx)

    def _step_span(self, scope: StepScope, cid: str | None) -> Span:
        span = scope.spans.get(cid)
        if span is not None:
            return span
        remote = scope.remote.get(cid)
        if remote is not None:
            parent, kind = remote, SpanKind.CONSUMER
        elif cid is None:
            parent, kind = _ROOT, SpanKind.INTERNAL
        else:
            parent, kind = self._outside_step(cid), SpanKind.INTERNAL
        attrs: dict[str, Any] = {sc.AGENT: scope.agent}
        if cid is not None:
            attrs[sc.CORRELATION_ID] = cid
        elif handled := self.handling(cid):
            attrs[sc.RECEIVED_CORRELATION_IDS] = handled
        span = self.tracer.start_span(
            f"{sc.STEP_SPAN} {scope.agent}",
            context=parent,
            kind=kind,
            attributes=attrs,
            links=scope.links.get(cid, ()),
            start_time=scope.start_ns,
        )
        scope.spans[cid] = span
        return span

    # -- messages ------------------------------------------------------------------

    def received(self, cid: str | None, context: Context | None, receipt: str | None) -> None:
        """A message of task ``cid`` carrying ``context`` was received."""
        if receipt is not None:
            with self._lock:
                if len(self._receipts) >= self.max_receipts:
                    self._receipts.pop(next(iter(self._receipts)))
                self._receipts[receipt] = cid
        scope = _scope.get()
        if scope is not None:
            if cid is None:
                scope.received_cidless = True
            else:
                scope.handled.add(cid)
        if context is None:
            return
        if scope is not None:
            span_context = get_current_span(context).get_span_context()
            if cid in scope.spans:
                scope.spans[cid].add_link(span_context)
            elif cid in scope.remote:
                scope.links.setdefault(cid, []).append(Link(span_context))
            else:
                scope.remote[cid] = context
        if cid is not None:
            with self._lock:
                self.last_remote[cid] = context

    def task_of_receipt(self, receipt: str | None, *, forget: bool = False) -> str | None:
        """The correlation id of the message a receipt handle belongs to."""
        if receipt is None:
            return None
        with self._lock:
            return self._receipts.pop(receipt, None) if forget else self._receipts.get(receipt)

    def close(self) -> None:
        with self._lock:
            self._receipts.clear()


__all__ = ["ContextFlow", "StepScope"]
