"""Staging: the aws backend and `harness deploy --backend aws`, against
LocalStack standing in for the remote account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.backends import AccountNotAllowed, BackendError, Endpoints, aws
from harness.backends.localstack import LOCALSTACK_ACCOUNT
from harness.cli import main as cli

# The first LocalStack test of a fresh checkout also installs it (a few minutes, once).
pytestmark = [pytest.mark.localstack, pytest.mark.timeout(900)]

OTHER_ACCOUNT = "111122223333"


def _queues(ep: Endpoints) -> list[str]:
    sqs = harness.session(ep, "probe").client("sqs")
    return sorted(sqs.list_queues().get("QueueUrls", []))


def test_the_allowed_account_is_accepted_with_its_credentials(staging: Endpoints) -> None:
    with aws(allowed_accounts=[LOCALSTACK_ACCOUNT]) as ep:
        assert ep.backend == "aws" and ep.urls == {}
        assert ep.access_key == staging.access_key
        sts = harness.session(ep, "probe").client("sts")
        assert sts.get_caller_identity()["Account"] == LOCALSTACK_ACCOUNT


def test_an_account_outside_the_allow_list_is_refused_in_one_line(staging: Endpoints) -> None:
    with pytest.raises(AccountNotAllowed) as e, aws(allowed_accounts=[OTHER_ACCOUNT]):
        pass
    msg = str(e.value)
    assert "\n" not in msg and LOCALSTACK_ACCOUNT in msg and OTHER_ACCOUNT in msg


def test_an_empty_allow_list_refuses_everything(staging: Endpoints) -> None:
    with pytest.raises(AccountNotAllowed), aws(allowed_accounts=[]):
        pass


def test_an_unknown_profile_is_a_backend_error(staging: Endpoints) -> None:
    with pytest.raises(BackendError, match="no-such-profile"), aws("no-such-profile", [LOCALSTACK_ACCOUNT]):
        pass


def test_deploy_is_refused_before_anything_is_created(
    staging: Endpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli(["deploy", "--backend", "aws", "--allowed-account", OTHER_ACCOUNT, "--prefix", "stg"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "not in the allow-list" in err
    assert _queues(staging) == []


def _all_tags(ep: Endpoints, summary: dict[str, Any], tables: bool = True) -> dict[str, dict[str, str]]:
    sess = harness.session(ep, "probe")
    sqs, sns, sfn = sess.client("sqs"), sess.client("sns"), sess.client("stepfunctions")
    res = summary["resources"]
    tags = {url: sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) for url in res["queues"].values()}
    tags[res["topic_arn"]] = {
        t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=res["topic_arn"])["Tags"]
    }
    arn = summary["state_machine_arn"]
    tags[arn] = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
    if tables:
        tags.update(_table_tags(sess.client("dynamodb"), res))
    return tags


def _table_tags(ddb: Any, res: dict[str, Any]) -> dict[str, dict[str, str]]:
    tags = {}
    for key in ("tasks_table", "registry_table", "idempotency_table", "briefs_table"):
        table_arn = ddb.describe_table(TableName=res[key])["Table"]["TableArn"]
        listed = ddb.list_tags_of_resource(ResourceArn=table_arn).get("Tags", [])
        tags[res[key]] = {t["Key"]: t["Value"] for t in listed}
    return tags


def test_deploy_to_staging_is_idempotent_and_tags_every_resource(
    staging: Endpoints, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["deploy", "--backend", "aws", "--allowed-account", LOCALSTACK_ACCOUNT, "--prefix", "stg"]
    args += ["--tag", "team=agents", "--state-machine", "--role-arn", "arn:aws:iam::000000000000:role/sfn"]
    assert cli([*args, "--out", str(tmp_path / "first.json")]) == 0
    queues = _queues(staging)
    assert cli([*args, "--out", str(tmp_path / "second.json")]) == 0
    capsys.readouterr()
    first = json.loads((tmp_path / "first.json").read_text())
    assert first == json.loads((tmp_path / "second.json").read_text())
    assert first["backend"] == "aws" and _queues(staging) == queues and len(queues) == 10
    # DynamoDB Local keeps no tags ("Tagging is not currently supported"):
    # the tables' tags are checked on moto below.
    for resource, tags in _all_tags(staging, first, tables=False).items():
        assert tags.get("team") == "agents", resource
        assert tags.get("harness:prefix") == "stg", resource
        assert tags.get("harness:deployed-by") == "harness deploy", resource


def test_the_reference_system_runs_on_the_staging_deployment(staging: Endpoints) -> None:
    from harness.history.recorder import Recorder
    from reference_system.messages import BriefRequest
    from tests.sfn._system import build_sfn_system
    from tests.sfn.checks import items

    with aws(allowed_accounts=[LOCALSTACK_ACCOUNT]) as ep:
        system = build_sfn_system(ep, Recorder(), prefix="stg")
        system.supervisor.submit(BriefRequest(request_id="g1", topic="heat pumps", token_budget=4000))
        system.run(timeout=90)
        assert items(system)["g1"]["state"] == "done"
        assert len(system.effects("publish")) == 1


def test_an_agent_process_checks_its_account_before_its_first_call(
    staging: Endpoints, tmp_path: Path
) -> None:
    """An agent handed real credentials (as a cluster or a run spawns it)
    asks STS itself and refuses an account off the list, before any call."""
    import dataclasses
    import os
    import subprocess
    import sys

    from harness.backends import check_account

    with aws(allowed_accounts=[LOCALSTACK_ACCOUNT]) as ep:
        check_account(ep)  # its own account: accepted
        wrong = dataclasses.replace(ep, allowed_accounts=[OTHER_ACCOUNT])
        with pytest.raises(AccountNotAllowed):
            check_account(wrong)
        (tmp_path / "resources.json").write_text("{}")
        env = {**os.environ, **wrong.to_env(), "HARNESS_ENDPOINTS": wrong.to_json()}
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.run.agent",
                "--agent",
                "supervisor",
                "--history",
                str(tmp_path / "h.jsonl"),
                "--resources",
                str(tmp_path / "resources.json"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert p.returncode == 2 and OTHER_ACCOUNT in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "h.jsonl").exists() or (tmp_path / "h.jsonl").read_text() == ""
