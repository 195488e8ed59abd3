from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "audit"
#: Where the Chromium test leaves its screenshot (runs/ is not committed).
SCREENSHOTS = REPO / "runs" / "screenshots"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """Debian's headless Chromium, on file:// URLs only, with a profile of its own."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.binary = binary
        self.profile = profile

    def run(self, url: str, *extra: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        assert url.startswith("file://"), "the report test only opens local files"
        cmd = [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", *extra, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def dump_dom(self, url: str) -> str:
        r = self.run(url, "--virtual-time-budget=3000", "--dump-dom")
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    def screenshot(self, url: str, path: Path, size: str = "1600,2000") -> Path:
        r = self.run(url, f"--window-size={size}", "--hide-scrollbars", f"--screenshot={path}")
        assert r.returncode == 0 and path.exists(), r.stderr[-2000:]
        return path


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    binary = find_chromium()
    if binary is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: its absence there is a failure
        pytest.skip(message)
    return Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
