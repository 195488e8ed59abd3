"""The report page: one self-contained HTML file (inline CSS, SVG and a little
JavaScript; nothing is fetched)."""

from __future__ import annotations

import json
from html import escape

from harness.checkers.verdict import UNKNOWN, Verdict, combine
from harness.report import svg
from harness.report.model import ReportModel

CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--unk:#9a6700;--ink:#1f2328;--mute:#656d76;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;background:#fff}
header{padding:18px 28px;border-bottom:1px solid var(--line);display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header h1{font-size:20px;margin:0}main{padding:8px 28px 40px}section{margin:22px 0}h2{font-size:16px;margin:0 0 10px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;font-size:12px;letter-spacing:.03em}
.pass{background:var(--ok)}.fail{background:var(--bad)}.unknown{background:var(--unk)}
.facts{color:var(--mute)}.facts b{color:var(--ink)}
table{border-collapse:collapse;width:100%;max-width:1200px}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.anomaly{cursor:pointer}.anomaly:hover{background:#fff8c5}.anomaly.active{background:#ffeb99}
.sev-violation{color:var(--bad);font-weight:600}.sev-warning{color:var(--unk)}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.lane.l0{fill:#ffffff}.lane.l1{fill:#f6f8fa}.lane.nemesis{fill:#fff0ee}.lane-label{font-size:12px;fill:var(--ink)}
.tick{stroke:#eaeef2}.tick-label{font-size:10px;fill:var(--mute)}
.op{stroke:none;opacity:.9}.op.o-fail{stroke:var(--bad);stroke-width:1.5}.op.o-info{stroke:var(--unk);stroke-width:1.5;stroke-dasharray:2 1}
.c-send{fill:#0969da}.c-receive{fill:#54aeff}.c-queue{fill:#8c959f}.c-db{fill:#8250df}.c-model{fill:#bf8700}
.c-effect{fill:#1a7f37}.c-event{fill:#afb8c1}.c-finding{fill:#cf222e}.c-fault{fill:#a40e26}
.msg{stroke:#0969da;stroke-opacity:.28;stroke-width:1}.msg.redelivered{stroke:#cf222e;stroke-opacity:.6;stroke-dasharray:3 2}
.fault-band{fill:#cf222e;fill-opacity:.12;stroke:#cf222e;stroke-opacity:.5;stroke-dasharray:4 3}
.witness{stroke:#f0b400;stroke-width:3;stroke-opacity:1;opacity:1}
.focus{stroke:#000!important;stroke-width:3!important;stroke-opacity:1!important;opacity:1!important;stroke-dasharray:none!important}
.dim .op:not(.focus),.dim .msg:not(.focus){opacity:.15}
.legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
.bar.p50{fill:#0969da}.bar.p95{fill:#54aeff}.bar.pmax{fill:#cfe5ff}.bar.tin{fill:#8250df}.bar.tout{fill:#bf8700}
.bar-label,.bar-value{font-size:12px}.bar-value{fill:var(--mute)}.axis-note{font-size:10px;fill:var(--mute)}
.charts{display:flex;gap:40px;flex-wrap:wrap}.none{color:var(--mute)}
button{font:inherit;padding:2px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg);cursor:pointer}
thead th{position:sticky;top:0}.tablebox{max-height:360px;overflow:auto;max-width:1200px;border:1px solid var(--line);border-radius:6px}
#js-status{color:var(--mute);font-size:12px;margin-left:10px}
"""

JS = r"""
(function(){
  var byOp = new Map();
  document.querySelectorAll('#timeline [data-ops]').forEach(function(el){
    el.dataset.ops.split(' ').forEach(function(i){
      if(!byOp.has(i)) byOp.set(i, []);
      byOp.get(i).push(el);
    });
  });
  var svgEl = document.getElementById('timeline-svg');
  var baseW = svgEl ? svgEl.width.baseVal.value : 0, zoom = 1;
  function setZoom(z){ zoom = Math.max(1, Math.min(64, z)); if(svgEl){ svgEl.setAttribute('width', baseW * zoom); }
    document.getElementById('zoom-level').textContent = zoom + 'x'; }
  document.getElementById('zoom-in').addEventListener('click', function(){ setZoom(zoom * 2); });
  document.getElementById('zoom-out').addEventListener('click', function(){ setZoom(zoom / 2); });
  function clear(){
    document.querySelectorAll('.focus').forEach(function(e){ e.classList.remove('focus'); });
    document.querySelectorAll('.anomaly.active').forEach(function(e){ e.classList.remove('active'); });
    document.getElementById('timeline').classList.remove('dim');
  }
  document.querySelectorAll('.anomaly').forEach(function(row){
    row.addEventListener('click', function(){
      var on = row.classList.contains('active');
      clear();
      if(on) return;
      row.classList.add('active');
      var first = null;
      row.dataset.witness.split(' ').forEach(function(i){
        (byOp.get(i) || []).forEach(function(el){ el.classList.add('focus'); if(!first) first = el; });
      });
      document.getElementById('timeline').classList.add('dim');
      if(first){ first.scrollIntoView({block:'center', inline:'center'}); }
    });
  });
  // #anomaly-N in the address focuses the N-th anomaly (0-based) when the page opens.
  var wanted = /^#anomaly-(\d+)$/.exec(location.hash);
  var rows = document.querySelectorAll('.anomaly');
  if(wanted && rows[+wanted[1]]){ rows[+wanted[1]].click(); }
  var shown = 0;
  document.querySelectorAll('.anomaly').forEach(function(row){
    if(row.dataset.witness.split(' ').some(function(i){ return byOp.has(i); })) shown++;
  });
  document.getElementById('js-status').textContent =
    byOp.size + ' operations on the timeline; ' + shown + ' anomalies with witnesses drawn';
  document.body.dataset.ready = '1';
})();
"""


def _badge(valid: object) -> str:
    if valid is True:
        return '<span class="badge pass">PASS</span>'
    if valid is False:
        return '<span class="badge fail">FAIL</span>'
    return '<span class="badge unknown">UNKNOWN</span>'


def _stats(stats: object) -> str:
    text = json.dumps(stats, sort_keys=True, default=str)
    return escape(text if len(text) <= 300 else text[:297] + "...")


def _verdict_rows(verdicts: list[Verdict]) -> str:
    rows = []
    for v in verdicts:
        rows.append(
            f'<tr class="verdict" data-checker="{escape(v.checker)}"><td>{escape(v.checker)}</td><td>{_badge(v.valid)}</td>'
            f'<td class="num">{len(v.violations)}</td><td class="num">{len(v.warnings)}</td>'
            f'<td class="mono">{_stats(v.stats)}</td></tr>'
        )
    return "".join(rows) or '<tr><td colspan="5" class="none">no checkers ran</td></tr>'


def _anomaly_rows(verdicts: list[Verdict], limit: int = 500) -> tuple[str, int]:
    rows, n = [], 0
    for v in verdicts:
        for a in v.anomalies:
            n += 1
            if n > limit:
                continue
            ops = " ".join(map(str, a.ops))
            key = "" if a.key is None else escape(str(a.key))
            rows.append(
                f'<tr class="anomaly" data-witness="{ops}" title="show the witnessing operations on the timeline">'
                f'<td>{escape(v.checker)}</td><td class="sev-{escape(a.severity)}">{escape(a.severity)}</td>'
                f"<td>{escape(a.kind)}</td><td>{key}</td><td>{escape(a.message)}</td>"
                f'<td class="mono">{escape(ops[:80])}</td></tr>'
            )
    return "".join(rows), n


def _fault_rows(m: ReportModel) -> str:
    return "".join(
        f'<tr class="fault"><td>{escape(f.kind)}</td><td>{escape(f.target)}</td>'
        f'<td class="num">{(f.start - m.t0) / 1e6:.1f}</td><td class="num">{(f.end - f.start) / 1e6:.1f}</td>'
        f'<td class="mono">{" ".join(map(str, f.ops))}</td></tr>'
        for f in m.faults
    )


def render(m: ReportModel) -> str:
    overall = combine(m.verdicts) if m.verdicts else UNKNOWN
    anomaly_rows, n_anomalies = _anomaly_rows(m.verdicts)
    duration = (m.t1 - m.t0) / 1e9
    notes = []
    if m.hidden_polls:
        notes.append(f"{m.hidden_polls} empty polls not drawn")
    if m.dropped_marks:
        notes.append(f"{m.dropped_marks} operations not drawn (too many)")
    if m.dropped_messages:
        notes.append(f"{m.dropped_messages} messages not drawn (too many)")
    legend = "".join(
        f'<span><i class="c-{c}" style="background:currentColor"></i>{label}</span>'.replace(
            'style="background:currentColor"', f'style="background:{color}"'
        )
        for c, label, color in (
            ("send", "send / publish", "#0969da"),
            ("receive", "receive", "#54aeff"),
            ("queue", "other queue call", "#8c959f"),
            ("db", "DynamoDB", "#8250df"),
            ("model", "model call", "#bf8700"),
            ("effect", "side effect", "#1a7f37"),
            ("event", "state / event", "#afb8c1"),
            ("finding", "audit finding", "#cf222e"),
            ("fault", "injected fault", "#a40e26"),
        )
    )
    faults = _fault_rows(m)
    anomalies_html = (
        '<div class="tablebox"><table><thead><tr><th>checker</th><th>severity</th><th>kind</th><th>key</th>'
        f"<th>what</th><th>ops</th></tr></thead><tbody>{anomaly_rows}</tbody></table></div>"
        if anomaly_rows
        else '<p class="none">none</p>'
    )
    faults_html = (
        "<table><thead><tr><th>fault</th><th>target</th><th>at (ms)</th><th>lasting (ms)</th><th>ops</th></tr>"
        f"</thead><tbody>{faults}</tbody></table>"
        if faults
        else '<p class="none">none injected</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(m.title)}</title>
<style>{CSS}</style></head>
<body>
<header id="summary">
  <h1>{escape(m.title)}</h1>
  <div id="overall">{_badge(overall)}</div>
  <div class="facts"><b>{m.operations:,}</b> operations · <b>{len(m.lanes)}</b> agents · <b>{m.tasks}</b> tasks ·
  <b>{duration:.2f}s</b> · <b>{len(m.faults)}</b> faults injected · <b>{n_anomalies}</b> anomalies ·
  <span class="mono">{escape(m.source)}</span></div>
</header>
<main>
<section id="verdicts"><h2>Verdicts</h2>
<table><thead><tr><th>checker</th><th>verdict</th><th>violations</th><th>warnings</th><th>statistics</th></tr></thead>
<tbody>{_verdict_rows(m.verdicts)}</tbody></table></section>

<section id="timeline-section"><h2>Timeline <span id="js-status"></span></h2>
<p><button id="zoom-out" type="button">−</button> <button id="zoom-in" type="button">+</button>
<span id="zoom-level">1x</span> <span class="facts">{escape("; ".join(notes))}</span></p>
<div class="legend">{legend}<span><i style="background:#fff;border:3px solid #f0b400"></i>witness of an anomaly</span>
<span><i style="background:#fbe3e1;border:1px dashed #cf222e"></i>fault window</span></div>
<div id="timeline" class="scroll">{svg.timeline(m)}</div></section>

<section id="anomalies"><h2>Anomalies <span class="facts">click one to highlight its witnessing operations</span></h2>
{anomalies_html}
</section>

<section id="faults"><h2>Injected faults</h2>
{faults_html}
</section>

<section id="charts"><h2>Per agent</h2><div class="charts">
<div id="latency-chart"><h3>AWS call latency</h3>
<div class="legend"><span><i style="background:#0969da"></i>median</span><span><i style="background:#54aeff"></i>to 95th percentile</span><span><i style="background:#cfe5ff"></i>to slowest</span></div>{svg.latency_chart(m.agents)}</div>
<div id="token-chart"><h3>Model tokens</h3>
<div class="legend"><span><i style="background:#8250df"></i>input</span><span><i style="background:#bf8700"></i>output</span></div>{svg.token_chart(m.agents)}</div>
</div></section>
</main>
<script>{JS}</script>
</body></html>
"""


__all__ = ["render"]
