"""The plugin is tested black-box: pytester writes a test project, runs
pytest on it, and the tests read its outcomes and output. Runs that start
moto (the simulator, the backend) run in a subprocess: an in-process run
restores ``sys.modules`` afterwards, and a second copy of moto would then
meet clients made for the first."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
