"""Secret-bearing values (all fake, most of them vendors' documented examples)
and ordinary values that look a little like secrets, for the redaction tests."""

from __future__ import annotations

from typing import NamedTuple


class Secret(NamedTuple):
    kind: str
    #: a value that holds the secret
    text: str
    #: what must not be left in a record (each piece)
    leaks: tuple[str, ...]


_RSA_BODY = (
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
)
_SSH_BODY = ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",)

CORPUS: tuple[Secret, ...] = (
    Secret("aws_access_key_id", "key AKIAIOSFODNN7EXAMPLE", ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE")),
    Secret("aws_access_key_id", "session ASIAY34FZKBOKMUTVV7A in use", ("Y34FZKBOKMUTVV7A",)),
    Secret(
        "aws_secret_access_key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",),
    ),
    Secret(
        "aws_secret_access_key",
        '{"AccessKeyId": "x", "SecretAccessKey": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
        ("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",),
    ),
    Secret(
        "bearer_token",
        "use Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        ("abcdefghijklmnopqrstuvwxyz012345",),
    ),
    Secret(
        "basic_auth", "Authorization: Basic dXNlcjpodW50ZXIyaHVudGVyMg==", ("dXNlcjpodW50ZXIyaHVudGVyMg",)
    ),
    Secret(
        "url_password", "connect to postgres://admin:S3cr3tPassw0rd@db.internal:5432/app", ("S3cr3tPassw0rd",)
    ),
    Secret("url_password", "https://deploy:gh-Tok3n-v4lue@git.example.com/repo.git", ("gh-Tok3n-v4lue",)),
    Secret(
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(_RSA_BODY) + "\n-----END RSA PRIVATE KEY-----",
        _RSA_BODY,
    ),
    Secret(
        "private_key",
        "key: -----BEGIN OPENSSH PRIVATE KEY-----\\n" + _SSH_BODY[0] + "\\n-----END OPENSSH PRIVATE KEY-----",
        _SSH_BODY,
    ),
    Secret(
        "jwt",
        "auth failed for eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ("eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ),
    Secret("stripe_key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", ("4eC39HqLyjWDarjtT1zdp7dc",)),
    Secret("stripe_key", "token sk-live-51H8xYzAbCdEfGhIjKlMnOp", ("51H8xYzAbCdEfGhIjKlMnOp",)),
    Secret("stripe_key", "restricted rk_test_26PHem9AhJZvU623DfE1x4sd", ("26PHem9AhJZvU623DfE1x4sd",)),
    Secret(
        "openai_api_key",
        "OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Ab3dEf6hIj9k",
        ("Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Ab3dEf6hIj9k",),
    ),
    Secret(
        "openai_api_key",
        "sk-9f8e7d6c5b4a3928171605f4e3d2c1b0a9f8e7d6c5b4a392",
        ("9f8e7d6c5b4a3928171605f4e3d2c1b0a9f8e7d6c5b4a392",),
    ),
    Secret(
        "anthropic_api_key",
        "x-api-key sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz-Xc_Vb9Nm8AA",
        ("api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz-Xc_Vb9Nm8AA",),
    ),
    Secret(
        "github_token",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        ("a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",),
    ),
    Secret(
        "github_token",
        "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a",
        ("16C7e42F292c6912E7710c838347Ae178B4a",),
    ),
    Secret(
        "github_token",
        "ghs_" + "ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
        ("ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",),
    ),
    Secret(
        "github_token",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
        ("11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",),
    ),
    Secret(
        "slack_token",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ("AbCdEfGhIjKlMnOpQrStUvWx",),
    ),
    Secret("slack_token", "xoxp-123456789012-123456789012-abcdef0123456789", ("abcdef0123456789",)),
    Secret(
        "slack_webhook",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ("T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",),
    ),
    Secret(
        "google_api_key", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", ("SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",)
    ),
    Secret("api_key_assignment", "db password: hunter2hunter2", ("hunter2hunter2",)),
    Secret("api_key_assignment", "GET /v1?api_key=Zx9Qw8Er7Ty6Ui5&page=2", ("Zx9Qw8Er7Ty6Ui5",)),
)

#: Values a redaction must leave as they are.
ORDINARY: tuple[str, ...] = (
    "t1/write/0",
    "L0/research/7-s7",
    "sqs.SendMessage",
    "6f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "0b1c5a2e-9d4f-4c3b-8a7e-6f5d4c3b2a19",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 of the empty string",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX",
    "arn:aws:sqs:us-east-1:123456789012:jobs",
    "http://127.0.0.1:4566/000000000000/jobs",
    "https://example.com/search?q=heat+pumps&page=2",
    "token_budget=4000",
    "input_tokens: 1200",
    "The secret to good coffee is fresh beans.",
    "password reset requested; passwordless login enabled",
    "api_key=",
    "password: short",
    "sk-research-subtask-writer-pipeline",
    "task-sk-1",
    "Bearer of bad news",
    "AKIA",
    "AKIAIOSFODNN7EXAMPL",
    "ghp_short",
    "eyJ is how JSON starts in base64",
    "1718000000000000000",
    "Ports moved 1234 5678 9012 3456 boxes",
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host",
    "Authorization: Basic realm",
    "[redacted:aws_access_key_id:kbvn5gttff]",
)

#: Personal data: left alone unless personal redaction is on.
PERSONAL: tuple[tuple[str, str, str], ...] = (
    ("email_address", "Brief by jane.doe@example.com", "jane.doe@example.com"),
    ("phone_number", "call +44 20 7946 0958 today", "+44 20 7946 0958"),
    ("phone_number", "or (555) 010-4477", "(555) 010-4477"),
    ("card_number", "card 4111 1111 1111 1111", "4111 1111 1111 1111"),
)


def leaks_in(data: str) -> list[str]:
    """Every corpus secret (or piece of one) found in ``data``."""
    return [leak for s in CORPUS for leak in s.leaks if leak in data]
