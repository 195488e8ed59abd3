"""The controllable system behind the experiments (harness.run.cluster), steered
from Python: every action does what it says, and stop leaves nothing behind."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from harness.faults import Fault, FaultPlan, Target
from harness.run import processes
from harness.run.cluster import Cluster, ClusterConfig, ClusterError, read_parts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(ClusterConfig(out=tmp_path_factory.mktemp("cluster"), workers=3, name="test"))
    with c:
        yield c


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _ddb_via(url: str) -> object:
    s = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)
    return s.client("dynamodb", endpoint_url=url, config=cfg)


def test_requests_flow_through_the_intake(cluster: Cluster) -> None:
    ids = cluster.submit(2)
    assert cluster.settle(40)
    assert cluster.in_flight() == []
    assert {cluster.task_states()[i] for i in ids} <= {"done", "failed"}
    fs = {op.f for op in cluster.history()}
    assert {"sqs.SendMessage", "state.transition", "effect.fetch"} <= fs


def test_partition_cuts_one_service_of_one_agent_until_healed(cluster: Cluster) -> None:
    proxies = cluster.agent("worker-1").proxies
    ddb, sqs = _ddb_via(proxies["dynamodb"].url), _ddb_via(proxies["sqs"].url)
    assert cluster.partition("worker-1", "dynamodb") == "proxy"
    with pytest.raises(BotoCoreError):
        ddb.list_tables()  # type: ignore[attr-defined]
    sqs.list_tables()  # type: ignore[attr-defined]  # the moto server answers any service on any proxy
    assert cluster.heal("worker-1")["healed"] == ["worker-1"]
    ddb.list_tables()  # type: ignore[attr-defined]


def test_a_timed_partition_heals_itself(cluster: Cluster) -> None:
    cluster.partition("worker-2", "*", seconds=0.3)
    assert all(p.is_cut for p in cluster.agent("worker-2").proxies.values())
    _eventually(lambda: not any(p.is_cut for p in cluster.agent("worker-2").proxies.values()))


def test_pause_stops_the_process_and_resume_continues_it(cluster: Cluster) -> None:
    pid = cluster.agent("worker-3").popen.pid  # type: ignore[union-attr]
    try:
        assert cluster.pause("worker-3", seconds=1.0)
        _eventually(lambda: processes.state(pid) == "T")  # SIGSTOP lands asynchronously
        _eventually(lambda: processes.state(pid) not in ("T", None))
        assert cluster.pause("worker-3")
        _eventually(lambda: processes.state(pid) == "T")
        assert cluster.heal("worker-3")["resumed"] == ["worker-3"]
        _eventually(lambda: processes.state(pid) not in ("T", None))
    finally:
        cluster.heal("worker-3")


def test_a_killed_agent_is_restarted(cluster: Cluster) -> None:
    before = cluster.agent("supervisor").popen.pid  # type: ignore[union-attr]
    assert cluster.kill("supervisor", restart_after=0.2) == before
    _eventually(lambda: cluster.agent("supervisor").restarts == 1)
    assert cluster.agent("supervisor").popen.pid != before  # type: ignore[union-attr]
    assert not processes.alive(before)
    ids = cluster.submit(1)  # the new incarnation serves
    assert cluster.settle(40) and cluster.task_states()[ids[0]] in ("done", "failed")
    fs = [op.f for op in cluster.history() if op.process == "nemesis"]
    assert "fault.kill" in fs and "chaos.restart" in fs


def test_plans_are_written_for_the_agents_and_cleared(cluster: Cluster) -> None:
    plan = FaultPlan(faults=[Fault(kind="delay", target=Target(agent="nobody"))])
    path = cluster.apply_plan(plan, "My Plan!")
    assert path.name == "my-plan.json" and cluster.plans() == ["my-plan"]
    assert FaultPlan.load(path) == plan
    assert cluster.clear_plans() == ["my-plan"] and cluster.plans() == []


def test_unknown_agents_and_queues_are_one_line_errors(cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="no agent 'worker-9': choose from supervisor, worker-1"):
        cluster.kill("worker-9")
    with pytest.raises(ClusterError, match="no queue 'nope'"):
        cluster.queue_depth("nope")


def test_stop_leaves_nothing_behind(tmp_path: Path) -> None:
    c = Cluster(ClusterConfig(out=tmp_path, workers=1, name="stop"))
    c.start()
    c.apply_plan(FaultPlan(faults=[Fault(kind="delay", target=Target(agent="nobody"))]), "p")
    c.pause("worker-1")
    c.partition("supervisor", "sqs")
    pids = list(c.pids)
    history = c.stop()
    assert c.leftovers() == []
    assert not any(processes.alive(p) for p in pids)
    assert history is not None and history.exists() and read_parts([history])
    assert c.stop() == history  # idempotent
    with pytest.raises(ClusterError, match="not running"):
        c.submit(1)


def test_read_parts_skips_a_line_being_written_and_a_torn_one(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(
        '{"index":0,"time":5,"process":"p","type":"ok","f":"x"}\n{"index":1,"ti\n'
        '{"index":2,"time":9,"process":"p","type":"ok","f":"z"}\n{"index":3,"time":'
    )
    b.write_text('{"index":0,"time":7,"process":"q","type":"ok","f":"y"}\n')
    ops = read_parts([a, b])
    assert [(op.index, op.f) for op in ops] == [(0, "x"), (1, "y"), (2, "z")]
