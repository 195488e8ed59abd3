"""Every auditor on outputs it must accept and outputs it must reject
(the golden cases in fixtures/audit/outputs.json), plus what a case table
cannot show."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harness.audit import (
    BudgetAuditor,
    Finding,
    GroundingAuditor,
    LeakageAuditor,
    NumericAuditor,
    ReferenceAuditor,
    SchemaAuditor,
    World,
    default_auditors,
)
from harness.audit.auditors import mask, split_claim
from harness.history.model import Op
from tests.audit.conftest import load_cases, make_output, make_world

AUDITORS = {
    "schema": SchemaAuditor,
    "grounding": GroundingAuditor,
    "numeric": NumericAuditor,
    "budget": BudgetAuditor,
    "leakage": LeakageAuditor,
    "references": ReferenceAuditor,
}
CASES = load_cases()


def test_every_auditor_has_cases_it_must_accept_and_cases_it_must_reject() -> None:
    for name in AUDITORS:
        expects = [c["expect"] for c in CASES if c["auditor"] == name]
        assert any(not e for e in expects), f"{name}: no output it must accept"
        assert any(e for e in expects), f"{name}: no output it must reject"


@pytest.mark.parametrize("case", CASES, ids=[f"{c['auditor']}: {c['name']}" for c in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    world = make_world(case.get("sources"), **case.get("world", {}))
    out = make_output(case["output"])
    found = AUDITORS[case["auditor"]]().audit(out, world)
    assert sorted(f.kind for f in found) == sorted(case["expect"]), [f.message for f in found]
    for f in found:
        assert f.auditor == case["auditor"]
        assert f.subject == out.subtask_id and f.task_id == out.task_id
        assert f.witnesses == (7,)
        assert f.message


def test_findings_say_what_is_wrong() -> None:
    world = make_world(
        [{"source_id": "t1/s0", "text": "costs fell 12.5 percent", "value": 12.5}],
    )
    out = make_output(
        {
            "subtask_id": "t1/write/0",
            "task_id": "t1",
            "capability": "write",
            "output": {
                "title": "t",
                "paragraphs": ["costs fell 99 percent [t1/s0]."],
                "citations": ["t1/s0"],
            },
        }
    )
    (f,) = GroundingAuditor().audit(out, world)
    assert f.kind == "ungrounded_claim" and "99" in f.message
    assert f.details["source_ops"] == [3]  # the research output that holds the source


def test_leaks_are_masked_in_findings() -> None:
    out = make_output(
        {"subtask_id": "s", "capability": "write", "output": {"title": "key AKIAIOSFODNN7EXAMPLE"}}
    )
    (f,) = LeakageAuditor().audit(out, make_world())
    assert "AKIAIOSFODNN7EXAMPLE" not in f.message and mask("AKIAIOSFODNN7EXAMPLE") in f.message
    assert "AKIAIOSFODNN7EXAMPLE" not in repr(f.details)


def test_leakage_allow_list() -> None:
    out = make_output({"subtask_id": "s", "capability": "write", "output": {"title": "ops@example.com"}})
    assert LeakageAuditor(allow=("ops@example.com",)).audit(out, make_world()) == []


def test_split_claim() -> None:
    assert split_claim("Costs fell 3 percent [a, b].") == ("Costs fell 3 percent", ["a", "b"])
    assert split_claim("No citation.") == ("No citation", [])


def test_token_count_must_match_the_model_calls_of_the_same_attempt() -> None:
    def op(i: int, f: str, typ: str, key: Any, value: Any, process: str = "w") -> Op:
        return Op(i, i, process, typ, f, key, value, meta={"agent": "research-1"})

    recv = {"messages": [{"message_id": "m"}]}
    history = [
        op(0, "sqs.ReceiveMessage", "ok", "q", recv),
        op(1, "model.complete", "ok", "t/research/0", {"input_tokens": 5, "output_tokens": 20}),  # attempt 1
        op(2, "sqs.ReceiveMessage", "ok", "q", recv),  # redelivered: attempt 2
        op(3, "model.complete", "ok", "t/research/0", {"input_tokens": 5, "output_tokens": 25}),
    ]
    world = World()
    for o in history:
        world.observe(o)
    base = {"subtask_id": "t/research/0", "task_id": "t", "capability": "research", "budget": 40}
    honest = replace(make_output({**base, "tokens_used": 30, "output": {}}), process="w")
    lying = replace(honest, tokens_used=12)
    assert NumericAuditor().audit(honest, world) == []
    (f,) = NumericAuditor().audit(lying, world)
    assert f.kind == "token_count_mismatch" and f.details == {"reported": 12, "recorded": 30}
    # Both attempts together spent 55 tokens of a 40-token budget.
    kinds = [f.kind for f in BudgetAuditor().audit(honest, world)]
    assert kinds == ["retries_over_budget"]


def test_default_auditors_are_fresh_and_named_uniquely() -> None:
    a, b = default_auditors(), default_auditors()
    assert [x.name for x in a] == [x.name for x in b]
    assert len({x.name for x in a}) == len(a)
    assert all(x is not y for x, y in zip(a, b, strict=True))


def test_a_finding_has_a_known_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("x", "k", "m", severity="fatal")
