"""`harness deploy` on the embedded backend, and its argument checks (no LocalStack needed)."""

from __future__ import annotations

import json

import pytest

from harness.backends import Endpoints
from harness.cli import main as cli
from tests.staging.test_staging import _all_tags


def test_deploy_tags_every_resource_tables_included(endpoints: Endpoints) -> None:
    from harness.deploy_cli import deploy_all
    from harness.instrument.session import plain_session

    summary = deploy_all(plain_session(endpoints), "stg", tags={"team": "agents"}, state_machine=True)
    tagged = _all_tags(endpoints, summary)
    assert len(tagged) == 10 + 1 + 1 + 4  # queues (the requests queue included), topic, state machine, tables
    assert all(t.get("team") == "agents" and t.get("harness:prefix") == "stg" for t in tagged.values())


def test_deploy_on_the_embedded_backend_prints_what_it_made(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["deploy", "--backend", "embedded", "--prefix", "dry", "--state-machine"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backend"] == "embedded-server" and out["resources"]["prefix"] == "dry"
    assert out["state_machine_arn"].endswith(":stateMachine:dry-brief")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "aws"], "needs an allow-list"),
        (["--backend", "aws", "--allowed-account", "12345"], "not a 12-digit AWS account id"),
        (["--backend", "aws", "--allowed-account", "111122223333", "--state-machine"], "needs --role-arn"),
        (["--backend", "embedded", "--tag", "novalue"], "KEY=VALUE"),
        (["--backend", "nowhere"], "invalid choice"),
    ],
)
def test_bad_arguments_fail_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        rc = cli(["deploy", *args])
        raise SystemExit(rc)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and message in err
