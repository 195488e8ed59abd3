"""Make botocore's per-request work cheaper where only in-process moto sees it.

Measured here (botocore 1.40, a simulated single-request example of the
reference system, sampled with py-spy): signing a request with SigV4 was
about 7% of the run's CPU time and rebuilding its User-Agent header about
4%. In-process moto answers every request to an AWS hostname in this
process, and it never checks a signature: of the ``Authorization`` header it
reads only the access key (which account the caller is) and, when the URL
does not say, the region. So while an in-process backend is open:

- a request to an ``*.amazonaws.com`` host that plain SigV4 would sign gets
  the header SigV4 gives it, with the same credential scope, signed headers,
  date and session token, but a signature of zeros: nothing is hashed. Every
  other request (S3's own signer, a presigned URL, a request to another
  host, LocalStack or a server on 127.0.0.1) is signed as before;
- a client's User-Agent string is built once per set of features (the
  ``m/`` component) and reused: botocore builds the same string every time
  from the same fields.

Neither changes what moto answers: a simulated run's history is the same
with and without them (``tests/backends/test_client_speed.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

from harness.backends._patch import patched

UNCHECKED_SIGNATURE = "0" * 64


def _moto_answers(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith(".amazonaws.com")


def _sign_without_hashing(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    import botocore.auth as auth

    def add_auth(self: Any, request: Any) -> None:
        if type(self) is not auth.SigV4Auth or not _moto_answers(request.url) or self.credentials is None:
            original(self, request)
            return
        request.context["timestamp"] = auth.get_current_datetime().strftime(auth.SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        self._inject_signature_to_request(request, UNCHECKED_SIGNATURE)

    return add_auth


def _memo_user_agent(original: Callable[[Any], str]) -> Callable[[Any], str]:
    from botocore.context import get_context

    def to_string(self: Any) -> str:
        ctx = get_context()
        key = (
            self._client_config,  # held, so never another one's id
            frozenset(self._client_features or ()),
            frozenset(ctx.features) if ctx is not None else frozenset(),
        )
        cache: dict[Any, str] = self.__dict__.setdefault("_harness_ua_cache", {})
        ua = cache.get(key)
        if ua is None:
            ua = cache[key] = original(self)
        return ua

    return to_string


@contextmanager
def cheaper_client_requests() -> Iterator[None]:
    """Sign without hashing and reuse User-Agent strings while open (in-process backends only)."""
    import botocore.auth as auth
    import botocore.useragent as useragent

    with ExitStack() as stack:
        stack.enter_context(patched(auth.SigV4Auth, "add_auth", _sign_without_hashing))
        stack.enter_context(patched(useragent.UserAgentString, "to_string", _memo_user_agent))
        yield


__all__ = ["UNCHECKED_SIGNATURE", "cheaper_client_requests"]
