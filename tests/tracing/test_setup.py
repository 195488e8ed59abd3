"""The per-run TracerProvider and the OTLP switch driven by OTEL_* variables."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from harness.tracing import Tracing, TracingWarning, otlp_exporter_from_env, tracing_from_env
from harness.tracing.setup import otlp_requested


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_otlp_is_requested_by_the_standard_variables(env: dict[str, str], wanted: bool) -> None:
    assert otlp_requested(env) is wanted


def _without_exporter_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def fake(name: str, *a: Any) -> Any:
        if name.startswith("opentelemetry.exporter.otlp"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a)

    monkeypatch.setattr("harness.tracing.setup.importlib.import_module", fake)


def test_a_missing_exporter_package_is_a_clear_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_exporter_packages(monkeypatch)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    with pytest.warns(TracingWarning, match=r"opentelemetry-exporter-otlp-proto-http is not installed"):
        t = Tracing(env=env)
    assert t.otlp is None
    with t.tracer.start_as_current_span("still traced"):
        pass
    assert [s.name for s in t.spans()] == ["still traced"]
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
    with pytest.warns(TracingWarning, match=r"pip install opentelemetry-exporter-otlp-proto-grpc"):
        assert otlp_exporter_from_env(env) is None


def test_an_unknown_protocol_is_a_warning() -> None:
    with pytest.warns(TracingWarning, match="not supported"):
        assert (
            otlp_exporter_from_env(
                {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
            )
            is None
        )


class _FakeExporter:
    exported: list[Any] = []

    def export(self, spans: Any) -> SpanExportResult:
        _FakeExporter.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_the_installed_exporter_receives_the_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = types.ModuleType("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    mod.OTLPSpanExporter = _FakeExporter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    _FakeExporter.exported = []
    with Tracing(env={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "svc"}, memory=False) as t:
        assert isinstance(t.otlp, _FakeExporter)
        with t.tracer.start_as_current_span("exported"):
            pass
        t.force_flush()
        with pytest.raises(RuntimeError, match="memory=False"):
            t.spans()
    assert [s.name for s in _FakeExporter.exported] == ["exported"]
    assert _FakeExporter.exported[0].resource.attributes["service.name"] == "svc"


def test_each_run_has_its_own_provider() -> None:
    a, b = Tracing(otlp=False, run_id="run-a"), Tracing(otlp=False, run_id="run-b")
    with a.tracer.start_as_current_span("in a"):
        pass
    assert [s.name for s in a.spans()] == ["in a"] and b.spans() == ()
    assert a.spans()[0].resource.attributes["harness.run_id"] == "run-a"
    a.shutdown()
    b.shutdown()


def test_tracing_from_env_for_agent_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracing_from_env("worker-1", env={}) is None
    _without_exporter_packages(monkeypatch)
    with pytest.warns(TracingWarning):
        assert tracing_from_env("worker-1", env={"OTEL_TRACES_EXPORTER": "otlp"}) is None
    monkeypatch.undo()
    mod = types.ModuleType("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    mod.OTLPSpanExporter = _FakeExporter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    t = tracing_from_env("worker-1", run_id="r1", env={"OTEL_TRACES_EXPORTER": "otlp"})
    assert t is not None and t.memory is None and isinstance(t.otlp, _FakeExporter)
    t.shutdown()
