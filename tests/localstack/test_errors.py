"""One-line errors when what the LocalStack backend needs is missing (no LocalStack started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends import BackendError, _install, _tools, localstack


def _one_line(e: pytest.ExceptionInfo[BackendError]) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_missing_python_313_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools, "_python_candidates", lambda: ["/nonexistent/python3.13"])
    with pytest.raises(BackendError) as e:
        _tools.find_python313()
    assert "Python 3.13" in _one_line(e)


def test_missing_java_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools.shutil, "which", lambda name: None)
    with pytest.raises(BackendError) as e, localstack():
        pass
    assert "Java" in _one_line(e)


def test_missing_npm_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_tools.shutil, "which", lambda name: None)
    with pytest.raises(BackendError) as e:
        _install.dynamodb_local(tmp_path)
    assert "npm" in _one_line(e)


_OFFLINE_PYTHON = """#!/bin/sh
# Creates a "virtualenv" holding itself; as its pip, fails as pip does offline.
if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0; fi
echo "ERROR: Could not find a version that satisfies the requirement localstack-core" >&2
exit 1
"""


def test_a_failed_install_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "python3.13"
    fake.write_text(_OFFLINE_PYTHON)
    fake.chmod(0o755)
    monkeypatch.setattr(_install, "find_python313", lambda: str(fake))
    with pytest.raises(BackendError) as e:
        _install.localstack_python(tmp_path / "cache")
    msg = _one_line(e)
    assert msg.startswith("installing LocalStack failed (no network?): ERROR: Could not find")
    assert "log:" in msg
    assert not (tmp_path / "cache" / "localstack-venv").exists()


def test_the_cache_lives_in_the_project_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_CACHE_DIR", raising=False)
    assert _install.cache_dir().name == ".cache"
    monkeypatch.setenv("HARNESS_CACHE_DIR", "/tmp/elsewhere")
    assert str(_install.cache_dir()) == "/tmp/elsewhere"
