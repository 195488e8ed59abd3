"""Every setting the harness reads from the environment, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Region used by the emulators (and by default against AWS).
REGION: str = os.environ.get("HARNESS_REGION", "us-east-1")

#: Where `harness run` writes its output directories.
RUNS_DIR: Path = Path(os.environ.get("HARNESS_RUNS_DIR", "runs"))

#: Fake credentials handed to emulators; never used against AWS.
EMULATOR_ACCESS_KEY: str = "testing"
EMULATOR_SECRET_KEY: str = "testing"

#: The only host the harness ever binds or targets for local servers.
LOOPBACK: str = "127.0.0.1"


def env_flag(name: str, default: bool = False) -> bool:
    v = os.environ.get(name)
    if v is None:
        return default
    return v.strip().lower() in {"1", "true", "yes", "on"}


# -- redaction of secrets in histories, reports and spans (see harness.redaction) --

#: "0" turns redaction off (it is on by default).
REDACT_ENV = "HARNESS_REDACT"
#: "1" also redacts personal data: e-mail addresses, phone and card numbers.
REDACT_PERSONAL_ENV = "HARNESS_REDACT_PERSONAL"
#: More patterns, one per line: ``kind=regex`` (or a bare regex, kind ``custom``).
REDACT_PATTERNS_ENV = "HARNESS_REDACT_PATTERNS"
#: More field names whose values are secrets, separated by commas or spaces.
REDACT_FIELDS_ENV = "HARNESS_REDACT_FIELDS"
#: The key of the fingerprints in redaction markers (default: a fixed one, so
#: fingerprints agree across runs; set it to make them unguessable).
REDACT_KEY_ENV = "HARNESS_REDACT_KEY"


@dataclass(frozen=True)
class RedactionSettings:
    """What the recorder, the report and the span processor redact."""

    enabled: bool = True
    personal: bool = False
    patterns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    key: str | None = None

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that give them (for agent processes)."""
        env = {REDACT_ENV: "1" if self.enabled else "0", REDACT_PERSONAL_ENV: "1" if self.personal else "0"}
        if self.patterns:
            env[REDACT_PATTERNS_ENV] = "\n".join(self.patterns)
        if self.fields:
            env[REDACT_FIELDS_ENV] = ",".join(self.fields)
        if self.key is not None:
            env[REDACT_KEY_ENV] = self.key
        return env


def redaction_settings(env: Mapping[str, str] | None = None) -> RedactionSettings:
    """The redaction settings of ``env`` (default: the process's environment)."""
    env = os.environ if env is None else env

    def flag(name: str, default: bool) -> bool:
        v = env.get(name)
        return default if v is None or not v.strip() else v.strip().lower() in {"1", "true", "yes", "on"}

    patterns = tuple(line for line in env.get(REDACT_PATTERNS_ENV, "").splitlines() if line.strip())
    fields = tuple(f for f in env.get(REDACT_FIELDS_ENV, "").replace(",", " ").split() if f)
    return RedactionSettings(
        enabled=flag(REDACT_ENV, True),
        personal=flag(REDACT_PERSONAL_ENV, False),
        patterns=patterns,
        fields=fields,
        key=env.get(REDACT_KEY_ENV) or None,
    )
