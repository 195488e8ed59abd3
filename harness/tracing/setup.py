"""One TracerProvider per run: in-memory spans for tests and reports, and an
OTLP exporter when the standard ``OTEL_*`` environment variables ask for one.

The provider is never installed globally, so runs (and tests) do not share
spans. OTLP is used when ``OTEL_TRACES_EXPORTER`` names ``otlp``, or when an
OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) and ``OTEL_TRACES_EXPORTER`` is not
``none``; ``OTEL_SDK_DISABLED=true`` turns it off. The protocol comes from
``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` or ``OTEL_EXPORTER_OTLP_PROTOCOL``
(``http/protobuf`` by default, or ``grpc``); the exporter reads the rest
(endpoint, headers, timeout) itself. The exporter is an optional package: when
it is missing, a :class:`TracingWarning` says which one to install and the run
goes on with in-memory spans.

Every span is redacted before any exporter sees it (in memory too): see
:mod:`harness.tracing.redaction`.
"""

from __future__ import annotations

import importlib
import os
import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from harness import __version__
from harness.redaction import Redactor
from harness.tracing.redaction import RedactingSpanProcessor

#: OTLP protocol -> (module of its span exporter, the pip package that ships it)
OTLP_EXPORTERS: dict[str, tuple[str, str]] = {
    "http/protobuf": (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry-exporter-otlp-proto-http",
    ),
    "grpc": (
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "opentelemetry-exporter-otlp-proto-grpc",
    ),
}


class TracingWarning(UserWarning):
    """Tracing could not be set up as the environment asked (the run goes on)."""


def otlp_requested(env: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables in ``env`` ask for OTLP trace export."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    if "otlp" in exporters:
        return True
    if exporters and exporters <= {"none"}:
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def otlp_exporter_from_env(env: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The OTLP span exporter the environment asks for, or None (not asked for,
    or its package is not installed: then a TracingWarning says so)."""
    env = os.environ if env is None else env
    if not otlp_requested(env):
        return None
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in OTLP_EXPORTERS:
        warnings.warn(
            f"OTLP protocol {protocol!r} is not supported (use http/protobuf or grpc); traces are not exported",
            TracingWarning,
            stacklevel=2,
        )
        return None
    module, package = OTLP_EXPORTERS[protocol]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        warnings.warn(
            f"the OTEL_* environment asks for OTLP trace export over {protocol}, but {package} is not "
            f"installed; spans are kept in memory only (pip install {package})",
            TracingWarning,
            stacklevel=2,
        )
        return None
    return mod.OTLPSpanExporter()


class Tracing:
    """The tracing of one run: a provider, its exporters, and the tracer the
    harness's instrumentation uses (see :func:`harness.tracing.install`).

    ``memory=True`` keeps every finished span (``spans()``); ``exporters`` adds
    more; ``otlp=None`` follows the environment, True/False forces it. Every
    exporter gets spans redacted by ``redactor`` (default: the process's).
    """

    def __init__(
        self,
        *,
        service_name: str = "harness",
        run_id: str | None = None,
        memory: bool = True,
        exporters: Sequence[SpanExporter] = (),
        otlp: bool | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.redactor = redactor
        self.run_id = run_id or uuid.uuid4().hex[:12]
        attrs: dict[str, Any] = {
            "service.name": env.get("OTEL_SERVICE_NAME") or service_name,
            "harness.run_id": self.run_id,
        }
        attrs.update(resource_attributes or {})
        self.provider = TracerProvider(resource=Resource.create(attrs))
        self.memory: InMemorySpanExporter | None = None
        if memory:
            self.memory = InMemorySpanExporter()
            self._add(SimpleSpanProcessor(self.memory))
        for exporter in exporters:
            self._add(SimpleSpanProcessor(exporter))
        self.otlp: SpanExporter | None = None
        if otlp is not False:
            self.otlp = otlp_exporter_from_env(
                env if otlp is None else {**env, "OTEL_TRACES_EXPORTER": "otlp"}
            )
            if self.otlp is not None:
                self._add(BatchSpanProcessor(self.otlp))
        self.tracer: Tracer = self.provider.get_tracer("harness", __version__)
        from harness.tracing.flow import ContextFlow

        self.flow = ContextFlow(self.tracer)

    def _add(self, processor: SpanProcessor) -> None:
        self.provider.add_span_processor(RedactingSpanProcessor(processor, self.redactor))

    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every finished span so far (needs ``memory=True``)."""
        if self.memory is None:
            raise RuntimeError("this Tracing keeps no spans in memory (memory=False)")
        return tuple(self.memory.get_finished_spans())

    def clear(self) -> None:
        if self.memory is not None:
            self.memory.clear()

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.flow.close()
        self.provider.shutdown()

    def __enter__(self) -> Tracing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def tracing_from_env(
    service_name: str, *, run_id: str | None = None, env: Mapping[str, str] | None = None
) -> Tracing | None:
    """For an agent process: a Tracing that exports over OTLP (nothing kept in
    memory) when the ``OTEL_*`` variables ask for it and the exporter is
    installed; None otherwise (a TracingWarning says why when asked but missing)."""
    env = os.environ if env is None else env
    if not otlp_requested(env):
        return None
    tracing = Tracing(service_name=service_name, run_id=run_id, memory=False, env=env)
    if tracing.otlp is None:
        tracing.shutdown()
        return None
    return tracing


__all__ = [
    "OTLP_EXPORTERS",
    "Tracing",
    "TracingWarning",
    "otlp_exporter_from_env",
    "otlp_requested",
    "tracing_from_env",
]
