"""What counts as a secret or as personal data: one table of rules, read by the
redactor (histories, reports, spans) and by the leakage auditor (outputs).

A rule's regex leaks its group ``secret`` if it has one, else its whole match.
A group ``prefix`` at the start of that is the token's public format marker
(``AKIA``, ``ghp_``, ``sk-proj-``): a redaction keeps it, so a reader still
sees what kind of key was there. ``hints`` are lower-case literals one of
which every match contains: a string with none of them is not searched (the
recorder's pre-check); a rule without hints is always tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SECRET = "secret"
PERSONAL = "personal"

#: The kind of a value redacted because of the field it is in (``password: ...``).
SECRET_FIELD = "secret_field"
#: The kind of a user's pattern given without one.
CUSTOM = "custom"

_KIND = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of secret (or of personal data) and how to find it."""

    kind: str
    regex: re.Pattern[str]
    severity: str = "error"
    accept: Callable[[str], bool] | None = None
    category: str = SECRET
    hints: tuple[str, ...] = ()
    #: The shortest text a match can be (shorter strings are skipped).
    min_len: int = 8

    def __post_init__(self) -> None:
        if not _KIND.match(self.kind):
            raise ValueError(f"a rule's kind is letters, digits, '_', '.' or '-': {self.kind!r}")


def _luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mixed(candidate: str) -> bool:
    """Looks generated: has a letter and a digit (``sk-research-writer`` does not)."""
    return any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate)


_AWS_ID_PREFIXES = ("AKIA", "ASIA", "AROA", "AIDA", "AGPA", "AIPA", "ANPA", "ANVA", "APKA", "ABIA", "ACCA")
_DIGITS = tuple("0123456789")

#: Secrets: redacted by default, and an error when an agent's output holds one.
SECRET_RULES: tuple[Rule, ...] = (
    Rule(
        "aws_access_key_id",
        re.compile(rf"\b(?P<prefix>{'|'.join(_AWS_ID_PREFIXES)})[A-Z0-9]{{16}}\b"),
        hints=tuple(p.lower() for p in _AWS_ID_PREFIXES),
    ),
    Rule(
        # 40 characters of base64 count only beside a secret-ish name: a bare
        # 40-hex digest is not an AWS secret.
        "aws_secret_access_key",
        re.compile(
            r"(?i)(?:aws.{0,20}?(?:secret|private)|secret[_ -]?(?:access[_ -]?)?key).{0,20}?[:=]\s*['\"]?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        hints=("secret", "private"),
    ),
    Rule(
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)"
        ),
        hints=("-----begin",),
    ),
    Rule(
        "jwt",
        re.compile(r"\b(?P<prefix>eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        hints=("eyj",),
    ),
    Rule(
        "bearer_token", re.compile(r"(?i)\b(?P<prefix>bearer\s+)[A-Za-z0-9._~+/-]{20,}=*"), hints=("bearer",)
    ),
    Rule(
        "basic_auth",
        re.compile(r"(?i)\bauthorization['\"]?\s*[:=]\s*['\"]?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"),
        hints=("basic",),
    ),
    Rule(
        "url_password",
        re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/?#@\[\]]{0,128}:(?P<secret>[^\s/?#@\[\]]{1,256})@"),
        hints=("://",),
    ),
    Rule(
        "stripe_key",
        re.compile(r"\b(?P<prefix>[sr]k[_-](?:live|test)[_-])[A-Za-z0-9]{10,}\b"),
        hints=("sk_", "sk-", "rk_", "rk-"),
    ),
    Rule(
        "anthropic_api_key",
        re.compile(r"\b(?P<prefix>sk-ant-)[A-Za-z0-9_-]{20,}"),
        accept=_mixed,
        hints=("sk-ant-",),
    ),
    Rule(
        "openai_api_key",
        re.compile(r"\b(?P<prefix>sk-(?:proj-|svcacct-|admin-)?)[A-Za-z0-9][A-Za-z0-9_-]{19,}"),
        accept=_mixed,
        hints=("sk-",),
    ),
    Rule(
        "google_api_key", re.compile(r"\b(?P<prefix>AIza)[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), hints=("aiza",)
    ),
    Rule(
        "github_token",
        re.compile(r"\b(?P<prefix>gh[pousr]_)[A-Za-z0-9]{36,}\b"),
        hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    Rule("github_token", re.compile(r"\b(?P<prefix>github_pat_)[A-Za-z0-9_]{22,}"), hints=("github_pat_",)),
    Rule("slack_token", re.compile(r"\b(?P<prefix>xox[abposr]-)[A-Za-z0-9-]{10,}\b"), hints=("xox",)),
    Rule(
        "slack_webhook",
        re.compile(r"(?P<prefix>https://hooks\.slack\.com/services/)[A-Za-z0-9_/-]{16,}"),
        hints=("hooks.slack.com",),
    ),
    Rule(
        "api_key_assignment",
        re.compile(
            r"(?i)\b(?:api[_-]?(?:key|secret)|client[_-]?secret|(?:access|auth|refresh)[_-]?token"
            r"|secret|password|passwd|token)['\"]?\s*[:=]\s*['\"]?(?P<secret>[^\s'\",;&]{8,})"
        ),
        hints=("api_key", "api-key", "apikey", "api_secret", "api-secret", "secret", "passw", "token"),
    ),
)

#: Personal data: redacted only when asked (``HARNESS_REDACT_PERSONAL``), and
#: an error when an agent's output holds it.
PERSONAL_RULES: tuple[Rule, ...] = (
    Rule(
        "email_address",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        category=PERSONAL,
        hints=("@",),
        min_len=6,
    ),
    Rule(
        "phone_number",
        re.compile(
            r"(?<![\w+])\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,3}(?![\w-])"
            r"|(?<![\w(])\(\d{3}\)\s?\d{3}[-. ]\d{4}(?![\w-])"
            r"|(?<![\w.-])\d{3}-\d{3}-\d{4}(?![\w-])"
        ),
        category=PERSONAL,
        hints=("+", "(", "-"),
        min_len=10,
    ),
    Rule(
        "card_number",
        re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
        accept=_luhn,
        category=PERSONAL,
        hints=_DIGITS,
        min_len=13,
    ),
)

#: Every built-in rule, secrets first (the leakage auditor's default).
RULES: tuple[Rule, ...] = SECRET_RULES + PERSONAL_RULES

#: Field names whose values are secrets whatever they look like (compared
#: without case, ``_``, ``-`` or spaces: ``apiKey`` is ``api_key``).
DEFAULT_FIELDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "secret_key",
        "secret_access_key",
        "aws_secret_access_key",
        "api_key",
        "api_secret",
        "x_api_key",
        "access_token",
        "refresh_token",
        "auth_token",
        "id_token",
        "session_token",
        "aws_session_token",
        "private_key",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
    }
)


def field_name(name: str) -> str:
    """``"X-Api-Key"`` -> ``"xapikey"``: how field names are compared."""
    return "".join(c for c in name.lower() if c.isalnum())


def field_names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(field_name(n) for n in names if field_name(n))


def custom_rule(spec: str) -> Rule:
    """A user's pattern, ``kind=regex`` (or a bare regex, of kind ``custom``).
    It leaks its group ``secret`` if it has one, else its whole match."""
    kind, eq, regex = spec.partition("=")
    if not eq or not _KIND.match(kind.strip()):
        kind, regex = CUSTOM, spec
    try:
        compiled = re.compile(regex)
    except re.error as e:
        raise ValueError(f"redaction pattern {spec!r}: {e}") from None
    if not regex:
        raise ValueError("an empty redaction pattern")
    return Rule(kind.strip(), compiled, min_len=1)


__all__ = [
    "CUSTOM",
    "DEFAULT_FIELDS",
    "PERSONAL",
    "PERSONAL_RULES",
    "RULES",
    "SECRET",
    "SECRET_FIELD",
    "SECRET_RULES",
    "Rule",
    "custom_rule",
    "field_name",
    "field_names",
]
