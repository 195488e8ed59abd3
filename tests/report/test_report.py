"""The report page from golden histories, read as HTML (no browser)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.checkers.verdict import Anomaly, Verdict
from harness.history import Op, write_history
from harness.report import build_report
from tests.report.conftest import FIXTURES


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        self.tags.append((tag, d))
        if d.get("id"):
            self.ids.add(str(d["id"]))

    def with_class(self, cls: str) -> list[dict[str, str | None]]:
        return [d for _, d in self.tags if cls in (d.get("class") or "").split()]


def _parse(path: Path) -> tuple[str, _Elements]:
    html = path.read_text(encoding="utf-8")
    p = _Elements()
    p.feed(html)
    return html, p


@pytest.fixture(scope="module")
def bad_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, _Elements]:
    run = tmp_path_factory.mktemp("run")
    shutil.copy(FIXTURES / "history-bad.jsonl", run / "history.jsonl")
    return _parse(build_report(run / "history.jsonl"))


def test_the_page_has_every_part(bad_report: tuple[str, _Elements]) -> None:
    _, els = bad_report
    assert {
        "summary",
        "overall",
        "verdicts",
        "timeline",
        "timeline-svg",
        "anomalies",
        "faults",
        "latency-chart",
        "latency-svg",
        "token-chart",
        "token-svg",
        "js-status",
    } <= els.ids


def test_every_checker_has_a_verdict_row(bad_report: tuple[str, _Elements]) -> None:
    html, els = bad_report
    checkers = [d["data-checker"] for d in els.with_class("verdict")]
    assert checkers == [
        "delivery",
        "idempotency",
        "ordering",
        "lost-update",
        "session",
        "budget",
        "liveness",
        "findings",
    ]
    assert 'class="badge fail"' in html.split('id="overall"')[1][:80]


def test_faults_are_marked_and_witnesses_highlighted(bad_report: tuple[str, _Elements]) -> None:
    _, els = bad_report
    assert len(els.with_class("fault-band")) == 2
    assert len(els.with_class("fault")) == 2  # the rows of the faults table
    drawn = {i for d in els.tags for i in (d[1].get("data-ops") or "").split()}
    anomalies = els.with_class("anomaly")
    assert len(anomalies) > 20
    for row in anomalies:
        witness = set(str(row["data-witness"]).split())
        assert witness & drawn, row  # each anomaly's witnesses are on the timeline
    witnessed = els.with_class("witness")
    assert witnessed
    assert {"op", "msg"} & set(str(witnessed[0]["class"]).split())


def test_swimlanes_are_the_agents_and_the_nemesis_last(bad_report: tuple[str, _Elements]) -> None:
    html, _ = bad_report
    lanes = re.findall(r'<text class="lane-label"[^>]*>([^<]+)</text>', html)
    assert lanes[-1] == "nemesis"
    assert {"supervisor", "research-1", "write-1", "review-1", "auditor"} <= set(lanes)
    assert len(re.findall(r'<line class="msg', html)) > 50  # messages between the lanes


def test_charts_cover_every_agent_with_calls_and_tokens(bad_report: tuple[str, _Elements]) -> None:
    html, _ = bad_report
    latency = html.split('id="latency-svg"')[1].split("</svg>")[0]
    tokens = html.split('id="token-svg"')[1].split("</svg>")[0]
    for agent in ("supervisor", "research-1", "write-1", "review-1"):
        assert f">{agent}</text>" in latency
    for agent in ("research-1", "write-1", "review-1"):
        assert f">{agent}</text>" in tokens
    assert ">supervisor</text>" not in tokens  # its model calls are not recorded in the history


def test_the_page_is_self_contained(bad_report: tuple[str, _Elements]) -> None:
    html, els = bad_report
    assert not re.search(r"https?://", html)
    assert not [d for t, d in els.tags if t in ("link", "img", "iframe") or (t == "script" and d.get("src"))]
    assert "url(" not in html


def test_given_verdicts_are_shown_as_they_are(tmp_path: Path) -> None:
    ops = [
        Op(
            0,
            0,
            "w",
            "invoke",
            "sqs.SendMessage",
            "q",
            {"message_id": "m"},
            meta={"agent": "w", "service": "sqs"},
        ),
        Op(
            1,
            5_000_000,
            "w",
            "ok",
            "sqs.SendMessage",
            "q",
            {"message_id": "m"},
            meta={"agent": "w", "service": "sqs"},
        ),
    ]
    write_history(ops, tmp_path / "h.jsonl")
    v = Verdict("custom", False, (Anomaly("boom", (1,), "it broke <badly>"),))
    html, els = _parse(build_report(tmp_path / "h.jsonl", tmp_path / "out" / "r.html", [v], title="T & co"))
    assert [d["data-checker"] for d in els.with_class("verdict")] == ["custom"]
    assert "it broke &lt;badly&gt;" in html and "<title>T &amp; co</title>" in html
    assert "no data" in html.split('id="token-chart"')[1]  # no model calls


def test_an_empty_history_still_makes_a_page(tmp_path: Path) -> None:
    (tmp_path / "history.jsonl").write_text("")
    _, els = _parse(build_report(tmp_path / "history.jsonl"))
    assert "timeline-svg" in els.ids
