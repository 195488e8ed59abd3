"""Safety for staging: pointed at AWS, an experiment first asks STS whose
account the credentials belong to and refuses any account not on the
allow-list, before anything is created. moto in server mode stands in for the
staging account here (its STS answers 123456789012), reached through the
standard AWS environment variables."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from harness.backends import embedded
from harness.chaos.journal import ERROR, judge
from tests.chaos.conftest import EXPERIMENTS, ROOT, ChaosRun, assert_nothing_left, clean_env

MOTO_ACCOUNT = "123456789012"
EXPERIMENT = EXPERIMENTS / "worker-partition-dynamodb.json"


@pytest.fixture
def fake_aws() -> Iterator[dict[str, str]]:
    """The environment of a shell whose AWS credentials point at a "remote" account."""
    with embedded("server") as ep:
        yield clean_env(
            AWS_ENDPOINT_URL=str(ep.admin_url),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE="/nonexistent/harness-test-config",
            AWS_SHARED_CREDENTIALS_FILE="/nonexistent/harness-test-credentials",
        )


def _created(env: dict[str, str]) -> list[str]:
    """Every queue, table and topic in the fake account."""
    s = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    url = env["AWS_ENDPOINT_URL"]
    found = s.client("sqs", endpoint_url=url).list_queues().get("QueueUrls", [])
    found += s.client("dynamodb", endpoint_url=url).list_tables()["TableNames"]
    found += [t["TopicArn"] for t in s.client("sns", endpoint_url=url).list_topics()["Topics"]]
    return found


def _harness(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "harness.cli", "chaos", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_harness_chaos_refuses_an_account_off_the_list(fake_aws: dict[str, str], tmp_path: Path) -> None:
    r = _harness(
        [
            "run",
            str(EXPERIMENT),
            "--backend",
            "aws",
            "--allowed-account",
            "111111111111",
            "--out",
            str(tmp_path),
        ],
        fake_aws,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and MOTO_ACCOUNT in lines[0] and "not in the allow-list" in lines[0], r.stderr
    assert _created(fake_aws) == []
    assert not (tmp_path / "journal.json").exists()  # Chaos Toolkit never started


def test_harness_chaos_refuses_aws_without_an_allow_list(fake_aws: dict[str, str]) -> None:
    r = _harness(["run", str(EXPERIMENT), "--backend", "aws"], fake_aws)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "allow-list" in r.stderr
    assert _created(fake_aws) == []


def test_plain_chaos_run_refuses_before_any_activity(
    fake_aws: dict[str, str], run_chaos: object, tmp_path: Path
) -> None:
    env = {**fake_aws, "HARNESS_BACKEND": "aws", "HARNESS_ALLOWED_ACCOUNTS": "111111111111"}
    run: ChaosRun = run_chaos(EXPERIMENT, env=env)  # type: ignore[operator]
    j = run.journal
    assert j["status"] == "interrupted"
    assert j["steady_states"]["before"] is None and j["run"] == []
    assert MOTO_ACCOUNT in j["harness"]["error"] and "not in the allow-list" in j["harness"]["error"]
    assert "not in the allow-list" in run.output
    assert judge(j).code == ERROR
    assert _created(fake_aws) == []


@pytest.mark.slow
def test_an_allowed_account_runs_the_experiment_there(fake_aws: dict[str, str], run_chaos: object) -> None:
    env = {**fake_aws, "HARNESS_BACKEND": "aws", "HARNESS_ALLOWED_ACCOUNTS": f"111111111111,{MOTO_ACCOUNT}"}
    run: ChaosRun = run_chaos(EXPERIMENT, env=env)  # type: ignore[operator]
    assert run.returncode == 0 and not run.journal["deviated"], run.output[-3000:]
    assert run.journal["steady_states"]["after"]["steady_state_met"] is True
    # No proxy can stand between the agents and a remote account: the partition is a fault plan.
    assert run.runs["partition-worker-1-from-dynamodb"]["how"] == "plan"
    assert run.cluster_state()["prefix"].startswith("chaos-")
    assert_nothing_left(run)
    assert _created(fake_aws) == []  # every queue, table and topic it made was deleted
