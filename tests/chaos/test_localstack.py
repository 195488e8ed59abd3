"""An experiment pointed at LocalStack through its configuration: the chaos
process starts LocalStack and DynamoDB Local itself, and each agent reaches
both through its own proxies, so the partition is still a real one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.chaos.conftest import EXPERIMENTS, ChaosRun, assert_nothing_left, clean_env

pytestmark = [pytest.mark.slow, pytest.mark.localstack, pytest.mark.timeout(900)]


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    """Install LocalStack and DynamoDB Local (once, minutes on a fresh machine)
    before any experiment's clock starts."""
    from harness.backends._install import dynamodb_local, localstack_python, localstack_static

    localstack_static(localstack_python())
    dynamodb_local()


@pytest.mark.parametrize("name", ["duplicate-delivery-storm", "throttling-storm"])
def test_fault_plan_experiments_on_localstack(run_chaos: Callable[..., ChaosRun], name: str) -> None:
    run = run_chaos(EXPERIMENTS / f"{name}.json", env=clean_env(HARNESS_BACKEND="localstack"))
    assert run.returncode == 0 and not run.journal["deviated"], run.output[-3000:]
    assert run.journal["steady_states"]["after"]["steady_state_met"] is True
    assert run.cluster_state()["backend"] == "localstack"
    assert_nothing_left(run)


def test_partition_experiment_on_localstack(run_chaos: Callable[..., ChaosRun]) -> None:
    run = run_chaos(
        EXPERIMENTS / "worker-partition-dynamodb.json", env=clean_env(HARNESS_BACKEND="localstack")
    )
    assert run.returncode == 0 and not run.journal["deviated"], run.output[-3000:]
    assert run.journal["steady_states"]["after"]["steady_state_met"] is True
    assert run.runs["partition-worker-1-from-dynamodb"]["how"] == "proxy"
    state = run.cluster_state()
    assert state["backend"] == "localstack"
    # Two upstreams (LocalStack, DynamoDB Local), a proxy per service for each agent.
    assert set(state["agents"]["worker-1"]["proxies"]) >= {"sqs", "sns", "dynamodb"}
    assert_nothing_left(run)
