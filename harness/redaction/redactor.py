"""Replacing secrets in recorded values, keeping their shape.

Only the secret substring is replaced, by a marker naming its kind and a
stable fingerprint (an HMAC of the secret): ``AKIA…[redacted:aws_access_key_id:k3j5v7x2mq]``.
The same secret gives the same marker in every run with the same key, and two
secrets different ones, so checkers that compare values (idempotency keys,
item versions) give the same verdicts on a redacted history. Dicts keep their
keys, lists their length; numbers, booleans and None are left alone. A value
under a secret-ish field name (``password``, ``api_key``) is redacted whole,
whatever it looks like. Redacting twice changes nothing more.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from harness.redaction.detector import MARKER, Detector
from harness.redaction.rules import DEFAULT_FIELDS, SECRET_FIELD, SECRET_RULES, Rule, field_name, field_names

#: The fingerprint key when none is configured: fingerprints then agree across
#: runs and machines (set ``HARNESS_REDACT_KEY`` to make them unguessable).
DEFAULT_KEY = "harness-redaction/v1"

_CACHE_LIMIT = 8192
_CACHE_MAX_LEN = 512


def fingerprint(secret: str, key: str | bytes = DEFAULT_KEY) -> str:
    """Ten base32 characters (``a-z2-7``, never only digits) of HMAC-SHA256(key, secret)."""
    k = key.encode() if isinstance(key, str) else key
    digest = hmac.new(k, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:10]


class Redactor:
    """Redacts strings, and every string inside a JSON-like value.

    ``rules``: what to look for (default: the secrets; add
    :data:`~harness.redaction.rules.PERSONAL_RULES` for e-mails, phones and
    card numbers); ``fields``: field names whose values are secrets;
    ``enabled=False`` gives values back untouched.
    """

    def __init__(
        self,
        rules: Iterable[Rule] = SECRET_RULES,
        *,
        fields: Iterable[str] = DEFAULT_FIELDS,
        key: str | bytes = DEFAULT_KEY,
        enabled: bool = True,
    ) -> None:
        self.detector = Detector(rules)
        self.fields = field_names(fields)
        self.key = key.encode() if isinstance(key, str) else key
        self.enabled = enabled
        self._cache: dict[str, str] = {}
        self._secret_fields: dict[str, bool] = {}

    @classmethod
    def off(cls) -> Redactor:
        """A redactor that redacts nothing."""
        return cls((), fields=(), enabled=False)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.detector.rules

    def marker(self, kind: str, secret: str, prefix: str = "") -> str:
        mark = f"[redacted:{kind}:{fingerprint(secret, self.key)}]"
        return f"{prefix}…{mark}" if prefix else mark

    # -- strings ---------------------------------------------------------------------

    def text(self, s: str) -> str:
        """``s`` with every secret in it replaced by its marker."""
        if not self.enabled or len(s) < self.detector.min_len:
            return s
        cached = self._cache.get(s)
        if cached is not None:
            return cached
        hits = self.detector.spans(s)
        if hits:
            parts: list[str] = []
            at = 0
            for h in hits:
                parts += [s[at : h.start], self.marker(h.kind, h.text, h.prefix)]
                at = h.end
            parts.append(s[at:])
            out = "".join(parts)
        else:
            out = s
        if len(s) <= _CACHE_MAX_LEN:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[s] = out
        return out

    def _whole(self, v: Any) -> Any:
        """A secret field's value: its secrets by kind if it shows any, else all of it."""
        if isinstance(v, str):
            if not v:
                return v
            red = self.text(v)
            if red != v or MARKER.search(v):  # its secrets by kind, or redacted already
                return red
            return self.marker(SECRET_FIELD, v)
        if isinstance(v, (bytes, bytearray)):
            return self._whole(bytes(v).decode("utf-8", "replace"))
        if isinstance(v, dict):
            return {k: self._whole(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(self._whole(x) for x in v)
        return v

    def _is_secret_field(self, name: str) -> bool:
        known = self._secret_fields.get(name)
        if known is None:
            if len(self._secret_fields) >= _CACHE_LIMIT:
                self._secret_fields.clear()
            known = self._secret_fields[name] = field_name(name) in self.fields
        return known

    # -- values ---------------------------------------------------------------------

    def value(self, v: Any) -> Any:
        """``v`` with its secrets redacted; ``v`` itself when it holds none
        (nothing is copied then, and the caller's objects are never changed)."""
        if not self.enabled:
            return v
        return self._value(v)

    def _value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if v is None or isinstance(v, (bool, int, float)):
            return v
        if isinstance(v, dict):
            out: dict[Any, Any] | None = None
            for i, (k, x) in enumerate(v.items()):
                secret_field = isinstance(k, str) and self._is_secret_field(k)
                nk = self.text(k) if isinstance(k, str) else k
                nx = self._whole(x) if secret_field else self._value(x)
                if out is None and (nk is not k or nx is not x):
                    out = dict(list(v.items())[:i])
                if out is not None:
                    out[nk] = nx
            return v if out is None else out
        if isinstance(v, (list, tuple, set, frozenset)):
            items = list(v)
            new = [self._value(x) for x in items]
            if all(a is b for a, b in zip(new, items, strict=True)):
                return v
            return type(v)(new) if not isinstance(v, list) else new
        if isinstance(v, (bytes, bytearray)):
            s = bytes(v).decode("utf-8", "replace")
            red = self.text(s)
            return v if red == s else red
        return v

    def op(self, op: Any) -> Any:
        """A history operation with its process, key, value, correlation id,
        error and extra fields redacted (the same object if nothing was)."""
        if not self.enabled:
            return op
        new = {
            "process": self._value(op.process),
            "key": self._value(op.key),
            "value": self._value(op.value),
            "correlation_id": self._value(op.correlation_id),
            "error": self._value(op.error),
            "meta": self._value(op.meta),
        }
        if all(new[k] is getattr(op, k) for k in new):
            return op
        return dataclasses.replace(op, **new)


__all__ = ["DEFAULT_KEY", "Redactor", "fingerprint"]
