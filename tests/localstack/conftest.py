from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.backends import Endpoints
from tests.localstack import shared


def pytest_configure(config: pytest.Config) -> None:
    shared.register_marker(config)


@pytest.fixture(scope="session")
def localstack_session(request: pytest.FixtureRequest) -> Iterator[Endpoints]:
    """LocalStack and DynamoDB Local, started once per test process."""
    yield shared.endpoints(request.config)
    shared.close()


@pytest.fixture
def ls(localstack_session: Endpoints) -> Iterator[Endpoints]:
    """The shared LocalStack backend, emptied before the test."""
    from harness.backends.localstack import reset

    reset(localstack_session)
    yield localstack_session
