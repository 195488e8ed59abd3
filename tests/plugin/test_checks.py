"""After each test that used the harness, its history is checked; a broken
invariant fails the test with the anomaly, its witnesses, the seed and a
replay command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOUBLE_CHARGE = """
import pytest
from harness.instrument.effects import Effects


def charge_twice(history):
    billing = Effects(history, "billing")
    billing.run("effect.charge", "order-1", lambda: True, value={"amount": 12})
    billing.run("effect.charge", "order-1", lambda: True, value={"amount": 12})


def test_once(history):
    Effects(history, "billing").run("effect.charge", "order-1", lambda: True)


def test_twice(history):
    charge_twice(history)


@pytest.mark.harness_checks("budget")
def test_twice_checked_for_budget_only(history):
    charge_twice(history)


def test_twice_and_failing_anyway(history):
    charge_twice(history)
    assert False, "the test's own failure"
"""


def test_a_broken_invariant_fails_the_test_readably(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_money=DOUBLE_CHARGE)
    r = pytester.runpytest("--harness-seed", "5", "-k", "test_once or test_twice")
    r.assert_outcomes(passed=2, failed=2)
    r.stdout.fnmatch_lines(
        [
            "*_ test_twice _*",
            "harness: a checked property does not hold in this test's history",
            "idempotency: 1 violation",
            "  - duplicate_effect: effect.charge for 'order-1' happened 2 times*",
            "      op 1 * billing ok effect.charge order-1 *",
            "      op 3 * billing ok effect.charge order-1 *",
            "seed: 5 (backend embedded)",
            "replay: pytest test_money.py::test_twice --harness-seed 5",
        ]
    )
    out = r.stdout.str()
    assert "Traceback" not in out.split("_ test_twice _")[1].split("_ test_twice_and")[0]
    # a test that fails by itself keeps its own failure
    assert "the test's own failure" in out


def test_harness_checks_chooses_what_is_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_money=DOUBLE_CHARGE)
    pytester.runpytest("-k", "budget_only").assert_outcomes(passed=1)


def test_properties_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from harness.history.model import INFO

        def crash(history):
            history.record("worker-1", INFO, "agent.crash", "worker-1", {"error": "KeyError: 'facts'"})

        def test_crash_is_a_violation(history):
            crash(history)

        @pytest.mark.harness_checks(properties=False)
        def test_nothing_checked(history):
            crash(history)
        """
    )
    r = pytester.runpytest()
    r.assert_outcomes(passed=1, failed=1)
    r.stdout.fnmatch_lines(["*unhandled_exception: worker-1 died of an unhandled exception: KeyError*"])


def test_the_report_directory_gets_each_history_and_its_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_money=DOUBLE_CHARGE)
    report = pytester.path / "report"
    pytester.runpytest("--harness-report", str(report), "-k", "test_once or test_twice")
    bad = report / "test_money.py_test_twice"
    assert (bad / "history.jsonl").read_text().count("effect.charge") == 4
    verdicts = {v["checker"]: v for v in json.loads((bad / "history.verdicts.json").read_text())}
    assert verdicts["idempotency"]["valid"] is False
    assert verdicts["idempotency"]["anomalies"][0]["kind"] == "duplicate_effect"
    assert all(
        v["valid"] is not False
        for v in json.loads((report / "test_money.py_test_once" / "history.verdicts.json").read_text())
    )


def test_harness_chaos_sets_the_fault_plan(pytester: pytest.Pytester) -> None:
    plan = {"faults": [{"kind": "throttle", "target": {"service": "dynamodb"}, "trigger": {"nth": 1}}]}
    (pytester.path / "plan.json").write_text(json.dumps(plan))
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.harness_chaos(plan={plan!r})
        def test_dict(fault_plan):
            assert [f.kind for f in fault_plan.faults] == ["throttle"]
            assert fault_plan.seed == 9  # the session's seed

        @pytest.mark.harness_chaos(plan="plan.json")
        def test_file(fault_plan):
            assert [f.kind for f in fault_plan.faults] == ["throttle"]

        @pytest.mark.harness_chaos(plan="default")
        def test_default(fault_plan):
            assert len(fault_plan.faults) > 3

        def test_none(fault_plan):
            assert fault_plan.faults == []
        """
    )
    pytester.runpytest("--harness-seed", "9").assert_outcomes(passed=4)


def test_harness_session_records_calls_and_injects_the_plan(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from botocore.exceptions import ClientError

        @pytest.mark.harness_chaos(plan={"faults": [
            {"kind": "throttle", "target": {"service": "sqs", "operation": "SendMessage"}, "trigger": {"nth": 1}}
        ]})
        def test_session(harness_session, history):
            sqs = harness_session("producer").client("sqs")
            url = sqs.create_queue(QueueName="orders")["QueueUrl"]
            with pytest.raises(ClientError):
                sqs.send_message(QueueUrl=url, MessageBody="first")  # throttled by the plan
            sqs.send_message(QueueUrl=url, MessageBody="second")
            fs = [(op.f, op.type) for op in history.ops if op.f != "sqs.CreateQueue"]
            assert ("fault.throttle", "info") in fs
            assert fs[-1] == ("sqs.SendMessage", "ok")
            # consumed, or the delivery checker (on by default) calls it lost
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            assert {op.meta.get("agent") for op in history.ops if op.process != "nemesis"} == {"producer"}
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.slow
def test_reference_system_runs_and_is_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one_brief(reference_system, history):
            task = reference_system.submit(topic="heat pumps")
            assert reference_system.wait(timeout=120)
            assert reference_system.task_states()[task] == "done"
            assert any(op.f == "effect.publish" for op in history.ops)
        """
    )
    report = pytester.path / "report"
    r = pytester.runpytest_subprocess("--harness-report", str(report))
    r.assert_outcomes(passed=1)
    verdicts = json.loads(next(Path(report).glob("*/history.verdicts.json")).read_text())
    assert {v["checker"] for v in verdicts} >= {"idempotency", "lost-update", "budget", "stages", "crashes"}
