"""Spans without secrets: a span processor that hands the processor it wraps
(and so its exporter) a copy of each finished span with its name, attributes,
status description, events (``exception.message``, ``exception.stacktrace``)
and links' attributes redacted. A span with nothing to redact is passed on as is.

:class:`~harness.tracing.Tracing` wraps every processor it adds; a processor
added to ``tracing.provider`` directly should be wrapped the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Link, Status

from harness.redaction import Redactor, default_redactor


def _attrs(r: Redactor, attrs: Mapping[str, Any] | None) -> tuple[Mapping[str, Any] | None, bool]:
    if not attrs:
        return attrs, False
    out: dict[str, Any] = {}
    changed = False
    for k, v in attrs.items():
        if isinstance(v, str):
            nv: Any = r.text(v)
        elif isinstance(v, (tuple, list)):
            nv = tuple(r.text(x) if isinstance(x, str) else x for x in v)
            nv = v if all(a is b for a, b in zip(nv, v, strict=True)) else nv
        else:
            nv = v
        changed = changed or nv is not v
        out[k] = nv
    return (out if changed else attrs), changed


def redact_span(span: ReadableSpan, redactor: Redactor | None = None) -> ReadableSpan:
    """``span`` with its secrets redacted (``span`` itself when it holds none)."""
    r = redactor or default_redactor()
    if not r.enabled:
        return span
    name = r.text(span.name)
    attributes, changed = _attrs(r, span.attributes)
    changed = changed or name is not span.name
    status = span.status
    if status.description:
        desc = r.text(status.description)
        if desc is not status.description:
            status, changed = Status(status.status_code, desc), True
    events = []
    for e in span.events:
        attrs, c = _attrs(r, e.attributes)
        ename = r.text(e.name)
        if c or ename is not e.name:
            events.append(Event(ename, attrs, e.timestamp))
            changed = True
        else:
            events.append(e)
    links = []
    for link in span.links:
        attrs, c = _attrs(r, link.attributes)
        links.append(Link(link.context, attrs) if c else link)
        changed = changed or c
    if not changed:
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Wraps ``processor``: every span it sees at its end is redacted first
    (``redactor``: default, the process's, from the settings)."""

    def __init__(self, processor: SpanProcessor, redactor: Redactor | None = None) -> None:
        self.processor = processor
        self.redactor = redactor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.processor.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        self.processor._on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.processor.on_end(redact_span(span, self.redactor))

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.processor.force_flush(timeout_millis)


__all__ = ["RedactingSpanProcessor", "redact_span"]
