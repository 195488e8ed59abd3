from __future__ import annotations

import pytest

from harness.backends import Endpoints
from harness.history.recorder import Recorder
from tests.conftest import System
from tests.sfn._system import build_sfn_system


@pytest.fixture
def sfn_system(endpoints: Endpoints, recorder: Recorder) -> System:
    """The reference system orchestrated by Step Functions, on in-process moto."""
    return build_sfn_system(endpoints, recorder)
