"""The run report: one self-contained HTML page with the verdict of every
checker, a swimlane timeline of agents and messages (injected faults marked,
anomalies' witnesses highlighted) and per-agent latency and token charts."""

from harness.report.build import build_report, run_checkers, write_report
from harness.report.console import print_verdicts, verdict_table
from harness.report.model import ReportModel, build_model
from harness.report.page import render

__all__ = [
    "ReportModel",
    "build_model",
    "build_report",
    "print_verdicts",
    "render",
    "run_checkers",
    "verdict_table",
    "write_report",
]
