"""The one seam into a system: an instrumented boto3 Session."""

from harness.instrument.context import (
    correlation,
    current_correlation_id,
    current_operation,
    new_correlation_id,
    operation,
)
from harness.instrument.effects import Effects
from harness.instrument.session import (
    Call,
    CallObserver,
    InstrumentedSession,
    Interceptor,
    MessageStamper,
    error_response,
    plain_session,
    session,
)

__all__ = [
    "Call",
    "CallObserver",
    "MessageStamper",
    "Effects",
    "InstrumentedSession",
    "Interceptor",
    "correlation",
    "current_operation",
    "operation",
    "current_correlation_id",
    "error_response",
    "new_correlation_id",
    "plain_session",
    "session",
]
