"""Fault plans as JSON: round trips, and one-line errors for bad plan files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.faults import CALL_KINDS, PROCESS_KINDS, Fault, FaultPlan, PlanError, Target, Trigger, Window
from harness.faults.defaults import default_plan
from harness.faults.plan import FaultKind

#: Where the fault contract lets these kinds aim (harness/faults/contract.py).
_PERMITTED_OPS = {"duplicate_delivery": "Receive*", "reorder": "Receive*", "stale_read": "Get*"}


def _every_kind_plan() -> FaultPlan:
    kinds = FaultKind.__args__  # type: ignore[attr-defined]
    params = {
        "delay": {"seconds": 0.5},
        "pause": {"seconds": 2},
        "clock_skew": {"seconds": -30},
        "crash": {"when": "before", "restart_after": None},
        "model": {"mode": "overlong"},
        "lose_ack": {"error": "InternalError"},
        "throttle": {"code": "ThrottlingException"},
    }
    return FaultPlan(
        seed=42,
        faults=[
            Fault(
                kind=k,
                id=None if i % 2 else f"f-{k}",
                target=Target(
                    agent=f"agent-{i}",
                    service="sqs" if i % 3 else "*",
                    operation=_PERMITTED_OPS.get(k, "Send*"),
                ),
                trigger=Trigger(
                    nth=i + 1 if i % 4 == 0 else None,
                    every=2 if i % 4 == 1 else None,
                    probability=0.25 if i % 4 == 2 else None,
                    window=Window(start=1.5, end=None if i % 2 else 9.0) if i % 4 == 3 else None,
                    max_count=3 if i % 5 == 0 else None,
                ),
                params=params.get(k, {}),
            )
            for i, k in enumerate(kinds)
        ],
    )


def test_every_kind_is_an_aws_call_kind_or_a_process_kind_or_model() -> None:
    kinds = set(FaultKind.__args__)  # type: ignore[attr-defined]
    assert kinds == CALL_KINDS | PROCESS_KINDS | {"model"}
    assert not CALL_KINDS & PROCESS_KINDS


@pytest.mark.parametrize(
    "plan", [_every_kind_plan(), default_plan(3), FaultPlan()], ids=["all", "default", "empty"]
)
def test_plan_round_trips_through_a_json_file(tmp_path: Path, plan: FaultPlan) -> None:
    path = tmp_path / "plan.json"
    plan.dump(path)
    assert FaultPlan.load(path) == plan
    assert FaultPlan.load(path).named() == plan.named()
    json.loads(path.read_text())  # plain JSON
    # The same plan as text, and again: stable.
    assert FaultPlan.parse(path.read_text()) == plan
    again = tmp_path / "again.json"
    FaultPlan.load(path).dump(again)
    assert again.read_text() == path.read_text()


def test_dumped_plan_leaves_out_defaults(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    FaultPlan(seed=1, faults=[Fault(kind="throttle", target=Target(service="dynamodb"))]).dump(path)
    assert json.loads(path.read_text()) == {
        "seed": 1,
        "faults": [{"kind": "throttle", "target": {"service": "dynamodb"}}],
    }


def test_a_hand_written_plan_loads(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {
                "seed": 9,
                "faults": [
                    {
                        "kind": "partition",
                        "target": {"agent": "research-1", "service": "dynamodb"},
                        "trigger": {"window": {"start": 10, "end": 40}},
                    },
                    {
                        "kind": "lose_ack",
                        "target": {"operation": "SendMessage"},
                        "trigger": {"probability": 0.1},
                    },
                ],
            }  # fmt: skip
        )
    )
    plan = FaultPlan.load(path)
    assert [n for n, _ in plan.named()] == ["partition#0", "lose_ack#1"]
    assert plan.faults[0].trigger.window == Window(start=10, end=40)


def test_named_faults_prefer_ids_and_streams_follow_names() -> None:
    plan = FaultPlan(seed=5, faults=[Fault(kind="delay", id="slow"), Fault(kind="delay")])
    assert [n for n, _ in plan.named()] == ["slow", "delay#1"]
    assert plan.rng_for("slow").random() == FaultPlan(seed=5).rng_for("slow").random()
    assert plan.rng_for("slow").random() != plan.rng_for("delay#1").random()
    assert plan.rng_for("slow").random() != FaultPlan(seed=6).rng_for("slow").random()


# -- bad plan files --------------------------------------------------------------------

BAD: list[tuple[str, str | bytes, str]] = [
    ("malformed-json", '{"faults": [', "(top level): Invalid JSON"),
    ("not-an-object", "[]", "(top level)"),
    ("unknown-kind", '{"faults": [{"kind": "meteor"}]}', "faults.0.kind"),
    ("probability-above-one", '{"faults": [{"kind": "delay", "trigger": {"probability": 1.5}}]}',
     "faults.0.trigger.probability"),
    ("negative-probability", '{"faults": [{"kind": "delay", "trigger": {"probability": -0.1}}]}',
     "faults.0.trigger.probability"),
    ("nth-zero", '{"faults": [{"kind": "delay", "trigger": {"nth": 0}}]}', "faults.0.trigger.nth"),
    ("window-backwards", '{"faults": [{"kind": "delay", "trigger": {"window": {"start": 5, "end": 1}}}]}',
     "faults.0.trigger.window"),
    ("unknown-field", '{"faults": [{"kind": "delay", "delay": 3}]}', "faults.0.delay"),
    ("unknown-target-field", '{"faults": [{"kind": "delay", "target": {"queue": "q"}}]}', "faults.0.target.queue"),
    ("seconds-not-a-number", '{"faults": [{"kind": "delay", "params": {"seconds": "soon"}}]}',
     "faults.0.params.seconds"),
    ("seconds-a-boolean", '{"faults": [{"kind": "pause", "params": {"seconds": true}}]}', "faults.0.params.seconds"),
    ("negative-delay", '{"faults": [{"kind": "delay", "params": {"seconds": -1}}]}', "faults.0.params.seconds"),
    ("model-mode", '{"faults": [{"kind": "delay"}, {"kind": "model", "params": {"mode": "rude"}}]}',
     "faults.1.params.mode"),
    ("crash-when", '{"faults": [{"kind": "crash", "params": {"when": "during"}}]}', "faults.0.params.when"),
    ("crash-restart", '{"faults": [{"kind": "crash", "params": {"restart_after": "later"}}]}',
     "faults.0.params.restart_after"),
    ("throttle-code", '{"faults": [{"kind": "throttle", "params": {"code": 429}}]}', "faults.0.params.code"),
    ("lose-ack-error", '{"faults": [{"kind": "lose_ack", "params": {"error": ""}}]}', "faults.0.params.error"),
    ("seed", '{"seed": "abc"}', "seed"),
    ("not-utf8", b'{"faults": ["\xff\xfe"]}', "(top level)"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "field"), [(c, f) for _, c, f in BAD], ids=[n for n, _, _ in BAD])
def test_bad_plan_file_is_a_one_line_plan_error_naming_file_and_field(
    tmp_path: Path, content: str | bytes, field: str
) -> None:
    path = tmp_path / "bad plan.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(PlanError) as e:
        FaultPlan.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: {field}"), msg
    assert "\n" not in msg
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_several_errors_are_counted_on_the_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"faults": [{"kind": "x"}, {"kind": "y"}]}')
    with pytest.raises(PlanError, match=r"faults\.0\.kind: .*\(and 1 more\)$"):
        FaultPlan.load(path)


@pytest.mark.parametrize("make", [lambda d: d / "missing.json", lambda d: d], ids=["missing", "directory"])
def test_unreadable_plan_file(tmp_path: Path, make: object) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(PlanError) as e:
        FaultPlan.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: cannot read fault plan: ") and "\n" not in msg


def test_plan_error_is_a_value_error() -> None:
    assert issubclass(PlanError, ValueError)


# -- the command line -----------------------------------------------------------------

CLI_BAD = [
    ("malformed.json", '{"seed": 1, "faults": [{"kind": "delay",', "(top level)"),
    ("unknown-kind.json", '{"faults": [{"kind": "meteor"}]}', "faults.0.kind"),
    ("probability.json", '{"faults": [{"kind": "delay", "trigger": {"probability": 2}}]}',
     "faults.0.trigger.probability"),
    ("params.json", '{"faults": [{"kind": "pause", "params": {"seconds": "x"}}]}', "faults.0.params.seconds"),
    ("missing.json", None, "cannot read fault plan"),
]  # fmt: skip


def test_harness_run_with_a_bad_plan_exits_2_with_one_line(tmp_path: Path) -> None:
    runs = []
    for name, content, field in CLI_BAD:  # all at once: each is a fresh interpreter
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        cmd = [sys.executable, "-m", "harness.cli", "run", "--plan", str(path), "--requests", "1",
               "--out", str(tmp_path / f"out-{name}")]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs.append((name, path, field, proc))
    for name, path, field, proc in runs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, out + err)
        lines = err.splitlines()
        assert len(lines) == 1, (name, err)
        assert lines[0].startswith("harness run: error: ") and str(path) in lines[0] and field in lines[0]
        assert "Traceback" not in err + out
        assert not (tmp_path / f"out-{name}").exists()
