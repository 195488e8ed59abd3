from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.backends import Endpoints
from tests.localstack import shared

#: boto3 names a service's endpoint variable after its service id, which is not
#: always the client name (Endpoints.to_env uses the client name).
ENV_NAMES = {"events": "EVENTBRIDGE", "stepfunctions": "SFN"}


def pytest_configure(config: pytest.Config) -> None:
    shared.register_marker(config)


@pytest.fixture(scope="session")
def staging_backend(request: pytest.FixtureRequest) -> Iterator[Endpoints]:
    """The process's shared LocalStack backend (see tests/localstack/shared.py)."""
    yield shared.endpoints(request.config)
    shared.close()


@pytest.fixture
def staging(staging_backend: Endpoints, monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoints]:
    """LocalStack standing in for a remote staging account (000000000000): the
    environment points boto3's default endpoints at it, exactly as a team's CI
    would set credentials and region for the real account."""
    from harness.backends.localstack import reset

    ls = staging_backend
    reset(ls)
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/harness-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/harness-test-credentials")
    for key, value in ls.to_env().items():
        if not key.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.setenv(key, value)
    for service, url in ls.urls.items():
        if url:
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{ENV_NAMES.get(service, service.upper())}", url)
    yield ls
