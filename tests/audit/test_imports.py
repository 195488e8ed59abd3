"""Checkers never import boto3 or OpenTelemetry: nor do the audit and report
packages until a live audit or the Bedrock judge is used."""

from __future__ import annotations

import subprocess
import sys


def test_audit_and_report_import_light() -> None:
    code = (
        "import sys\n"
        "import harness.audit, harness.audit.checker, harness.report\n"
        "from harness.audit import check_findings, audit_history\n"
        "heavy = [m for m in ('boto3', 'botocore', 'moto', 'opentelemetry') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
