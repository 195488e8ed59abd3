"""Where tracing plugs into a system: the instrumented Session's observers and
message stampers (AWS calls and message context), a wrapper for agents'
``step()`` and a wrapper for language models.

:func:`install` adds a :class:`CallTracer` to a session. Each AWS call gets a
span with the RPC, messaging and database conventions. A message's producer
span is started when the message is stamped, before it is serialised, so its
context can travel inside the message; every other call's span is made when
the call ends, dated from its start, so an empty poll leaves no span. A
receive that returns messages of several tasks makes one receive span in each
task's trace, linked to the producer of each of its messages, and records the
correlation id its messages carried (``harness.received_correlation_ids``).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    Span,
    SpanKind,
    Status,
    StatusCode,
    get_current_span,
    set_span_in_context,
)

from harness.instrument.context import CORRELATION_ATTR, current_correlation_id
from harness.tracing import semconv as sc
from harness.tracing.propagation import extract, inject
from harness.tracing.setup import Tracing

_SPAN = "trace_span"
_START = "trace_start"


def _attr(message: dict[str, Any], name: str) -> str | None:
    v = (message.get("MessageAttributes") or {}).get(name)
    return v.get("StringValue") if isinstance(v, dict) else None


class _Pending:
    __slots__ = ("operation", "span", "entries")

    def __init__(self, operation: str, span: Span, entry: dict[str, Any]) -> None:
        self.operation = operation
        self.span = span
        self.entries = [entry]

    def matches(self, params: dict[str, Any]) -> bool:
        if any(params is e for e in self.entries):
            return True
        return any(e is entry for e in params.get("Entries", []) or [] for entry in self.entries)


class CallTracer:
    """A call observer and message stamper for one session (see the module docstring)."""

    def __init__(
        self, tracing: Tracing, *, region: str | None = None, trace_empty_receives: bool = False
    ) -> None:
        self.tracer = tracing.tracer
        self.flow = tracing.flow
        self.region = region
        self.trace_empty_receives = trace_empty_receives
        self._local = threading.local()
        self.injected = 0
        self.not_injected = 0

    # -- MessageStamper --------------------------------------------------------------

    def stamp(self, service: str, operation: str, params: dict[str, Any]) -> None:
        pending: _Pending | None = getattr(self._local, "pending", None)
        if pending is not None and pending.operation == operation and operation.endswith("Batch"):
            pending.entries.append(params)
        else:
            if pending is not None:  # stamped but never sent (rejected before sending)
                pending.span.set_status(Status(StatusCode.ERROR, "not sent"))
                pending.span.end()
            cid = current_correlation_id()
            name, attrs = sc.call_name_and_attributes(service, operation, params)
            attrs.update(self._common(cid))
            span = self.tracer.start_span(
                name, context=self.flow.parent_for(cid), kind=SpanKind.PRODUCER, attributes=attrs
            )
            pending = self._local.pending = _Pending(operation, span, params)
        if inject(params, set_span_in_context(pending.span)):
            self.injected += 1
        else:
            self.not_injected += 1

    # -- CallObserver ------------------------------------------------------------------

    def start(self, call: Any) -> None:
        pending: _Pending | None = getattr(self._local, "pending", None)
        self._local.pending = None
        if pending is not None and pending.matches(call.params):
            # The stamper saw one message; the call shows the whole request.
            name, attrs = sc.call_name_and_attributes(call.service, call.operation, call.params)
            pending.span.update_name(name)
            pending.span.set_attributes(attrs)
            call.meta[_SPAN] = pending.span
            return
        if pending is not None:
            pending.span.set_status(Status(StatusCode.ERROR, "not sent"))
            pending.span.end()
        call.meta[_START] = time.time_ns()

    def end(self, call: Any, type: str, error: str | None, parsed: dict[str, Any] | None) -> None:
        span: Span | None = call.meta.pop(_SPAN, None)
        if span is not None:
            self._finish(span, call, type, error, parsed)
            return
        start = call.meta.pop(_START, None) or time.time_ns()
        if call.service == "sqs" and call.operation == "ReceiveMessage":
            messages = (parsed or {}).get("Messages") or []
            if messages:
                self._receive(call, type, error, parsed, messages, start)
                return
            if type == "ok" and not self.trace_empty_receives:
                return
        cid = call.correlation_id
        if cid is None and "ReceiptHandle" in call.params:
            cid = self.flow.task_of_receipt(
                call.params["ReceiptHandle"], forget=call.operation == "DeleteMessage"
            )
        self._span(call, cid, start, type, error, parsed)

    # -- spans -----------------------------------------------------------------------------

    def _common(self, cid: str | None) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if cid is not None:
            attrs[sc.CORRELATION_ID] = cid
        elif handled := self.flow.handling(cid):
            attrs[sc.RECEIVED_CORRELATION_IDS] = handled
        if self.region:
            attrs[sc.CLOUD_REGION] = self.region
        return attrs

    def _span(
        self,
        call: Any,
        cid: str | None,
        start: int,
        type: str,
        error: str | None,
        parsed: dict[str, Any] | None,
        *,
        extra: dict[str, Any] | None = None,
        links: list[Link] | None = None,
    ) -> None:
        name, attrs = sc.call_name_and_attributes(call.service, call.operation, call.params)
        attrs.update(self._common(cid))
        if cid is not None and sc.MESSAGING_SYSTEM in attrs:
            attrs[sc.MESSAGING_CONVERSATION_ID] = cid
        attrs.update(extra or {})
        span = self.tracer.start_span(
            name,
            context=self.flow.parent_for(cid),
            kind=SpanKind.CLIENT,
            attributes=attrs,
            links=links or (),
            start_time=start,
        )
        self._finish(span, call, type, error, parsed)

    def _finish(
        self, span: Span, call: Any, type: str, error: str | None, parsed: dict[str, Any] | None
    ) -> None:
        span.set_attribute(sc.AGENT, call.agent)
        span.set_attribute(sc.PROCESS, call.process)
        span.set_attribute(sc.OUTCOME, type)
        for k, v in sc.response_attributes(call.service, call.operation, parsed).items():
            span.set_attribute(k, v)
        if type != "ok":
            span.set_attribute(sc.ERROR_TYPE, error or type)
            span.set_status(Status(StatusCode.ERROR, error or type))
        span.end()

    def _receive(
        self,
        call: Any,
        type: str,
        error: str | None,
        parsed: dict[str, Any] | None,
        messages: list[dict[str, Any]],
        start: int,
    ) -> None:
        groups: dict[str | None, list[tuple[dict[str, Any], Context | None]]] = defaultdict(list)
        for m in messages:
            cid = _attr(m, CORRELATION_ATTR)
            ctx = extract(m)
            self.flow.received(cid, ctx, m.get("ReceiptHandle"))
            groups[cid].append((m, ctx))
        for cid, group in groups.items():
            extra: dict[str, Any] = {sc.MESSAGING_BATCH_COUNT: len(group)}
            if cid is not None:
                extra[sc.RECEIVED_CORRELATION_IDS] = [cid]
            if len(group) == 1 and group[0][0].get("MessageId"):
                extra[sc.MESSAGING_MESSAGE_ID] = group[0][0]["MessageId"]
            links = [Link(get_current_span(ctx).get_span_context()) for _, ctx in group if ctx is not None]
            self._span(call, cid, start, type, error, parsed, extra=extra, links=links)


def install(session: Any, tracing: Tracing, **kw: Any) -> CallTracer:
    """Trace every AWS call of an instrumented ``session`` and carry trace
    context in the messages it sends and receives. Returns the tracer added."""
    inst = session.instrumentation
    tracer = CallTracer(tracing, region=kw.pop("region", None) or getattr(session, "region_name", None), **kw)
    inst.observers.append(tracer)
    inst.stampers.append(tracer.stamp)
    return tracer


class TracedAgent:
    """An agent whose every ``step()`` that does work is traced (see
    :mod:`harness.tracing.flow`); everything else is the agent's own."""

    def __init__(self, agent: Any, tracing: Tracing, name: str | None = None) -> None:
        self._agent = agent
        self._flow = tracing.flow
        self.trace_name = name or getattr(agent, "agent", None) or type(agent).__name__

    @property
    def wrapped(self) -> Any:
        return self._agent

    def step(self) -> bool:
        scope, token = self._flow.begin_step(self.trace_name)
        try:
            did = self._agent.step()
        except BaseException as e:
            self._flow.end_step(scope, token, None, e)
            raise
        self._flow.end_step(scope, token, bool(did), None)
        return did

    def __getattr__(self, name: str) -> Any:
        return getattr(self._agent, name)


class TracedModel:
    """A language model (``complete(kind, prompt, context)`` returning a
    completion with ``input_tokens`` and ``output_tokens``) whose calls are
    spans with the ``gen_ai.*`` attributes."""

    def __init__(
        self, model: Any, tracing: Tracing, *, provider: str = "scripted", operation: str = "chat"
    ) -> None:
        self.model = model
        self.name = getattr(model, "name", type(model).__name__)
        self.provider = provider
        self.operation = operation
        self._tracer = tracing.tracer
        self._flow = tracing.flow

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Any:
        start = time.time_ns()
        cid = current_correlation_id()
        attrs: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: self.operation,
            sc.GEN_AI_PROVIDER_NAME: self.provider,
            sc.GEN_AI_REQUEST_MODEL: self.name,
            sc.MODEL_KIND: kind,
        }
        if cid is not None:
            attrs[sc.CORRELATION_ID] = cid
        elif handled := self._flow.handling(cid):
            attrs[sc.RECEIVED_CORRELATION_IDS] = handled
        step = self._flow.current_step()
        if step is not None:
            attrs[sc.AGENT] = step.agent
        try:
            c = self.model.complete(kind, prompt, context)
        except Exception as e:
            span = self._start(attrs, cid, start)
            span.record_exception(e)
            span.set_attribute(sc.ERROR_TYPE, type(e).__name__)
            span.set_status(Status(StatusCode.ERROR, f"{type(e).__name__}: {e}"))
            span.end()
            raise
        attrs[sc.GEN_AI_RESPONSE_MODEL] = getattr(c, "model", self.name)
        attrs[sc.GEN_AI_INPUT_TOKENS] = int(c.input_tokens)
        attrs[sc.GEN_AI_OUTPUT_TOKENS] = int(c.output_tokens)
        self._start(attrs, cid, start).end()
        return c

    def _start(self, attrs: dict[str, Any], cid: str | None, start: int) -> Span:
        return self._tracer.start_span(
            f"{self.operation} {self.name}",
            context=self._flow.parent_for(cid),
            kind=SpanKind.CLIENT,
            attributes=attrs,
            start_time=start,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


__all__ = ["CallTracer", "TracedAgent", "TracedModel", "install"]
