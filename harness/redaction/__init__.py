"""No secret in a record: one detector of secrets (and of personal data) for
the recorder, the report, the span processor and the leakage auditor.

    redactor = default_redactor()          # from the HARNESS_REDACT_* settings
    redactor.value({"pk": "t1", "note": "key AKIAIOSFODNN7EXAMPLE"})
    # {'pk': 't1', 'note': 'key AKIA…[redacted:aws_access_key_id:…]'}

Every :class:`~harness.history.Recorder` passes what it records through the
default redactor (unless given another), and every
:class:`~harness.tracing.Tracing` what it exports. The pytest plugin's
``harness_redact_*`` ini keys and ``--harness-redact-*`` options add to the
settings (see :func:`configure`).
"""

from __future__ import annotations

import os
import threading

from harness.redaction.detector import MARKER, Detector, Hit
from harness.redaction.redactor import DEFAULT_KEY, Redactor, fingerprint
from harness.redaction.rules import (
    CUSTOM,
    DEFAULT_FIELDS,
    PERSONAL,
    PERSONAL_RULES,
    RULES,
    SECRET,
    SECRET_FIELD,
    SECRET_RULES,
    Rule,
    custom_rule,
    field_name,
)
from harness.settings import RedactionSettings, redaction_settings

_lock = threading.Lock()
_default: Redactor | None = None


def from_settings(settings: RedactionSettings) -> Redactor:
    """The redactor the settings describe; a malformed pattern raises ValueError."""
    rules = SECRET_RULES + (PERSONAL_RULES if settings.personal else ())
    rules += tuple(custom_rule(p) for p in settings.patterns)
    return Redactor(
        rules,
        fields=DEFAULT_FIELDS | set(settings.fields),
        key=settings.key or DEFAULT_KEY,
        enabled=settings.enabled,
    )


def default_redactor() -> Redactor:
    """The process's redactor: the one :func:`configure` set, else the one
    the environment's settings describe (made on first use)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = from_settings(redaction_settings())
    return _default


def configure(settings: RedactionSettings | None = None, *, export: bool = False) -> Redactor:
    """Make ``settings`` (None: the environment's, read again) the process's
    redaction; ``export=True`` also puts them in the environment, so agent
    processes started from now on redact alike. Recorders and tracings given
    no redactor of their own use the new one from their next operation or span."""
    global _default
    settings = redaction_settings() if settings is None else settings
    redactor = from_settings(settings)
    with _lock:
        _default = redactor
    if export:
        os.environ.update(settings.to_env())
    return redactor


__all__ = [
    "CUSTOM",
    "DEFAULT_FIELDS",
    "DEFAULT_KEY",
    "MARKER",
    "PERSONAL",
    "PERSONAL_RULES",
    "RULES",
    "SECRET",
    "SECRET_FIELD",
    "SECRET_RULES",
    "Detector",
    "Hit",
    "RedactionSettings",
    "Redactor",
    "Rule",
    "configure",
    "custom_rule",
    "default_redactor",
    "field_name",
    "fingerprint",
    "from_settings",
    "redaction_settings",
]
