"""In-process moto: an internal error is answered with HTTP 500, as its server does.

Measured here: moto's Step Functions can raise an AttributeError from
SendTaskSuccess while another execution starts or stops (it reads the
execution's worker before it is set). Behind moto's HTTP server such a bug is
a 500 answer, which AWS SDKs retry and the harness records as an unknown
outcome; in process it would surface in the caller as a bare Python
exception, as if the agent itself had a bug. While an in-process backend is
open, any exception escaping moto's request handling becomes a 500
``InternalFailure`` answer instead, so both embedded modes behave alike;
except an operation moto does not implement, which stays an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.backends._patch import patched

log = logging.getLogger(__name__)


def internal_failure(request: Any, error: Exception) -> tuple[int, dict[str, str], str]:
    """A 500 answer in the request's protocol (JSON or XML) naming ``error``."""
    message = f"emulator internal error: {type(error).__name__}: {error}"[:500]
    headers = {"x-amzn-ErrorType": "InternalFailure"}
    content_type = str(request.headers.get("Content-Type", ""))
    if "json" in content_type:
        import json

        headers["Content-Type"] = "application/x-amz-json-1.0"
        return 500, headers, json.dumps({"__type": "InternalFailure", "message": message})
    from xml.sax.saxutils import escape

    headers["Content-Type"] = "text/xml"
    body = (
        "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
    )
    return 500, headers, body


@contextmanager
def internal_errors_as_500() -> Iterator[None]:
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.core.exceptions import ServiceNotWhitelisted

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def process_request(self: Any, request: Any) -> Any:
            try:
                return original(self, request)
            except (NotImplementedError, ServiceNotWhitelisted):
                raise  # a gap in the emulator, not a failure of a call: say so
            except Exception as e:
                log.warning("moto failed on %s %s: %r", request.method, request.url, e)
                return internal_failure(request, e)

        return process_request

    with patched(BotocoreStubber, "process_request", wrap):
        yield
