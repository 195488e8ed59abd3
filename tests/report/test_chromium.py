"""The report rendered by a real headless Chromium: its parts are on the
page, its script ran, clicking an anomaly highlights its witnesses, and a
screenshot is saved (runs/screenshots/report.png)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.report import build_report
from tests.report.conftest import FIXTURES, SCREENSHOTS, Chromium

pytestmark = pytest.mark.slow

PARTS = ("summary", "verdicts", "timeline-svg", "anomalies", "faults", "latency-svg", "token-svg")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    shutil.copy(FIXTURES / "history-bad.jsonl", run / "history.jsonl")
    return build_report(run / "history.jsonl")


def test_chromium_renders_every_part_and_runs_the_script(chromium: Chromium, report: Path) -> None:
    dom = chromium.dump_dom(report.as_uri())
    for part in PARTS:
        assert f'id="{part}"' in dom, part
    assert 'data-ready="1"' in dom  # the script ran to its end
    assert "operations on the timeline;" in dom and "anomalies with witnesses drawn" in dom
    assert dom.count('class="anomaly') > 20


def test_opening_an_anomaly_highlights_its_witnesses(chromium: Chromium, report: Path) -> None:
    dom = chromium.dump_dom(report.as_uri() + "#anomaly-0")
    assert 'class="anomaly active"' in dom
    assert "focus" in dom.split('id="timeline"')[1].split("</svg>")[0]
    assert 'id="timeline" class="scroll dim"' in dom


def test_chromium_screenshot(chromium: Chromium, report: Path, tmp_path: Path) -> None:
    shot = chromium.screenshot(report.as_uri() + "#anomaly-30", tmp_path / "report.png")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1600, 2000)
    assert len(data) > 50_000  # a page, not a blank
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / "report.png")
