"""Tracing: one OpenTelemetry TracerProvider per run, spans for agent steps,
AWS calls and model calls, W3C trace context carried inside SQS and SNS
messages, and assertions over the spans.

    tracing = Tracing()                      # in memory; OTLP if OTEL_* ask
    install(session, tracing)                # every AWS call of the session
    agent = TracedAgent(agent, tracing)      # every step that does work
    model = TracedModel(model, tracing)      # every model call
    ...
    spans(tracing).assert_connected()        # every task one trace, no orphans,
                                             # no dropped correlation ids
"""

from harness.tracing.assertions import (
    SpanQuery,
    TraceAssertionError,
    dropped_correlation,
    spans,
    trace_problems,
)
from harness.tracing.instrument import CallTracer, TracedAgent, TracedModel, install
from harness.tracing.propagation import extract, inject
from harness.tracing.redaction import RedactingSpanProcessor, redact_span
from harness.tracing.setup import Tracing, TracingWarning, otlp_exporter_from_env, tracing_from_env

__all__ = [
    "CallTracer",
    "RedactingSpanProcessor",
    "SpanQuery",
    "TraceAssertionError",
    "TracedAgent",
    "TracedModel",
    "Tracing",
    "TracingWarning",
    "dropped_correlation",
    "extract",
    "inject",
    "install",
    "otlp_exporter_from_env",
    "redact_span",
    "spans",
    "trace_problems",
    "tracing_from_env",
]
