"""Inline SVG for the report: the swimlane timeline and the per-agent charts."""

from __future__ import annotations

from html import escape

from harness.report.model import AgentStats, ReportModel

LABEL_W = 170
PLOT_W = 1400
LANE_H = 26
AXIS_H = 26


def _a(v: object) -> str:
    return escape(str(v), quote=True)


def _fmt_ms(ns: float) -> str:
    ms = ns / 1e6
    return f"{ms / 1000:.2f}s" if ms >= 1000 else f"{ms:.0f}ms"


def timeline(m: ReportModel) -> str:
    span = max(1, m.t1 - m.t0)
    lane_y = {lane: AXIS_H + i * LANE_H for i, lane in enumerate(m.lanes)}
    height = AXIS_H + LANE_H * max(1, len(m.lanes)) + 4
    width = LABEL_W + PLOT_W + 20
    witnesses = m.witnesses

    def x(t: int) -> float:
        return round(LABEL_W + (t - m.t0) / span * PLOT_W, 2)

    out = [
        f'<svg id="timeline-svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="swimlane timeline">'
    ]
    for i, lane in enumerate(m.lanes):
        y = lane_y[lane]
        cls = "lane nemesis" if lane == "nemesis" else "lane"
        out.append(f'<rect class="{cls} l{i % 2}" x="0" y="{y}" width="{width}" height="{LANE_H}"/>')
        out.append(f'<text class="lane-label" x="8" y="{y + 17}">{escape(lane)}</text>')
    for k in range(9):
        t = m.t0 + span * k // 8
        out.append(f'<line class="tick" x1="{x(t)}" x2="{x(t)}" y1="{AXIS_H - 4}" y2="{height}"/>')
        out.append(f'<text class="tick-label" x="{x(t) + 2}" y="14">{_fmt_ms(t - m.t0)}</text>')
    for f in m.faults:
        w = max(3.0, x(f.end) - x(f.start))
        ops = " ".join(map(str, f.ops))
        out.append(
            f'<rect class="fault-band" x="{x(f.start)}" y="{AXIS_H}" width="{w}" height="{height - AXIS_H}" '
            f'data-ops="{ops}"><title>{escape(f.label)}</title></rect>'
        )
    out.append('<g class="messages">')
    for msg in m.messages:
        cls = "msg redelivered" if msg.redelivery else "msg"
        if witnesses.intersection(msg.ops):
            cls += " witness"
        y1, y2 = lane_y.get(msg.sent_lane, 0) + LANE_H / 2, lane_y.get(msg.received_lane, 0) + LANE_H / 2
        out.append(
            f'<line class="{cls}" x1="{x(msg.sent_at)}" y1="{y1}" x2="{x(msg.received_at)}" y2="{y2}" '
            f'data-ops="{msg.ops[0]} {msg.ops[1]}"><title>{escape(msg.message_id)} on {escape(msg.queue)}'
            f"{' (redelivered)' if msg.redelivery else ''}</title></line>"
        )
    out.append('</g><g class="ops">')
    for mk in m.marks:
        y = lane_y.get(mk.lane, 0) + 6
        w = max(2.0, x(mk.end) - x(mk.start))
        cls = f"op c-{mk.category} o-{mk.outcome}"
        if witnesses.intersection(mk.ops):
            cls += " witness"
        ops = " ".join(map(str, mk.ops))
        out.append(
            f'<rect class="{cls}" x="{x(mk.start)}" y="{y}" width="{w}" height="{LANE_H - 12}" data-ops="{ops}">'
            f"<title>#{ops}: {escape(mk.label)}</title></rect>"
        )
    out.append("</g></svg>")
    return "".join(out)


def _bars(
    rows: list[tuple[str, list[tuple[float, str, str]], str]], unit: str, svg_id: str, label: str
) -> str:
    """Horizontal bars: per row, stacked (value, css class, tooltip) segments and a caption."""
    if not rows:
        return f'<svg id="{svg_id}" width="10" height="10"></svg><p class="none">no data</p>'
    row_h, label_w, plot_w = 26, 150, 460
    top = max((sum(v for v, _, _ in segs) for _, segs, _ in rows), default=0) or 1
    height = row_h * len(rows) + 24
    out = [
        f'<svg id="{svg_id}" width="{label_w + plot_w + 400}" height="{height}" '
        f'role="img" aria-label="{_a(label)}">'
    ]
    for i, (name, segs, caption) in enumerate(rows):
        y = 8 + i * row_h
        out.append(f'<text class="bar-label" x="4" y="{y + 14}">{escape(name)}</text>')
        xpos = float(label_w)
        for value, cls, tip in segs:
            w = value / top * plot_w
            out.append(
                f'<rect class="bar {cls}" x="{xpos:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{row_h - 8}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            xpos += w
        out.append(f'<text class="bar-value" x="{xpos + 6:.1f}" y="{y + 14}">{escape(caption)}</text>')
    out.append(
        f'<text class="axis-note" x="{label_w}" y="{height - 4}">scale: 0 to {top:,.0f} {unit}</text></svg>'
    )
    return "".join(out)


def latency_chart(agents: dict[str, AgentStats]) -> str:
    rows = []
    for name, s in sorted(agents.items()):
        if not s.latencies_ms:
            continue
        p50, p95, mx = s.percentile(50), s.percentile(95), max(s.latencies_ms)
        rows.append(
            (
                name,
                [
                    (p50, "p50", f"{name}: median {p50:.1f} ms over {s.calls} AWS calls"),
                    (max(0.0, p95 - p50), "p95", f"{name}: 95th percentile {p95:.1f} ms"),
                    (max(0.0, mx - p95), "pmax", f"{name}: slowest {mx:.1f} ms"),
                ],
                f"p50 {p50:.1f} · p95 {p95:.1f} · max {mx:.1f} ms ({s.calls} calls, {s.failures} not ok)",
            )
        )
    return _bars(rows, "ms", "latency-svg", "AWS call latency per agent")


def token_chart(agents: dict[str, AgentStats]) -> str:
    rows = [
        (
            name,
            [
                (float(s.input_tokens), "tin", f"{name}: {s.input_tokens} input tokens"),
                (float(s.output_tokens), "tout", f"{name}: {s.output_tokens} output tokens"),
            ],
            f"{s.input_tokens + s.output_tokens:,} tokens in {s.model_calls} model calls",
        )
        for name, s in sorted(agents.items())
        if s.model_calls
    ]
    return _bars(rows, "tokens", "token-svg", "model tokens per agent")


__all__ = ["latency_chart", "timeline", "token_chart"]
