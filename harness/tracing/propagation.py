"""W3C trace context inside SQS and SNS message attributes.

The harness writes ``traceparent`` (and ``tracestate`` when there is one) as
String message attributes on every message it sends, and reads them back from
every message it receives. SNS copies message attributes to SQS subscribers
with raw delivery, so the context crosses a fan-out too. SQS allows ten
attributes per message: when a message has no room left, nothing is added.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace import get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
MAX_ATTRIBUTES: Final = 10

_PROPAGATOR = TraceContextTextMapPropagator()


class _AttrSetter(Setter[dict[str, Any]]):
    def set(self, carrier: dict[str, Any], key: str, value: str) -> None:
        carrier[key] = {"DataType": "String", "StringValue": value}


class _AttrGetter(Getter[dict[str, Any]]):
    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        v = carrier.get(key)
        if isinstance(v, dict):
            s = v.get("StringValue") or v.get("Value")  # SQS shape, or SNS-in-SQS envelope shape
            return [s] if isinstance(s, str) else None
        return None

    def keys(self, carrier: dict[str, Any]) -> Iterable[str]:
        return list(carrier.keys())


SETTER = _AttrSetter()
GETTER = _AttrGetter()


def inject(message_params: dict[str, Any], context: Context) -> bool:
    """Write ``context``'s trace context into a message's ``MessageAttributes``;
    False when there was no room (or no valid context)."""
    attrs = message_params.setdefault("MessageAttributes", {})
    carrier: dict[str, Any] = {}
    _PROPAGATOR.inject(carrier, context=context, setter=SETTER)
    if TRACEPARENT not in carrier:
        return False
    new = [k for k in carrier if k not in attrs]
    if len(attrs) + len(new) > MAX_ATTRIBUTES:
        carrier.pop(TRACESTATE, None)
        new = [k for k in carrier if k not in attrs]
        if len(attrs) + len(new) > MAX_ATTRIBUTES:
            return False
    attrs.update(carrier)
    return True


def extract(message: dict[str, Any]) -> Context | None:
    """The trace context a received message carries, or None."""
    attrs = message.get("MessageAttributes") or {}
    if TRACEPARENT not in attrs:
        return None
    ctx = _PROPAGATOR.extract(attrs, getter=GETTER)
    return ctx if get_current_span(ctx).get_span_context().is_valid else None


__all__ = ["MAX_ATTRIBUTES", "TRACEPARENT", "TRACESTATE", "extract", "inject"]
