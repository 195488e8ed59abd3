"""The review auditor: a reviewer that approves a draft the verification agents
reject is a finding. Golden histories it must accept and ones it must reject,
a rubber-stamp reviewer planted in simulated runs, and no false alarm on the
reference system."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from harness.audit import AgentOutput, ReviewAuditor, World, audit_history, default_auditors
from harness.audit.auditors import LeakageAuditor
from harness.history.model import OK, Op
from harness.sim.config import SimConfig
from harness.sim.simulator import simulate
from reference_system.messages import BriefRequest
from tests.mutants.review_mutants import EXAMPLE_KEY, INVENTED_SOURCE

KIND = "approved_rejected_draft"
FACTS = [
    {
        "source_id": "t1/research/0-s0",
        "text": "heat pumps: costs shows falling costs at 12.5 percent",
        "value": 12.5,
    },
    {
        "source_id": "t1/research/0-s1",
        "text": "heat pumps: demand shows rising demand at 40.0 percent",
        "value": 40.0,
    },
]
GOOD_DRAFT = {
    "title": "Brief: heat pumps",
    "paragraphs": [f"{f['text']} [{f['source_id']}]." for f in FACTS],
    "citations": [f["source_id"] for f in FACTS],
}
LEAKY_DRAFT = {**GOOD_DRAFT, "title": f"Brief: heat pumps (access key {EXAMPLE_KEY})"}
UNSOURCED_DRAFT = {
    **GOOD_DRAFT,
    "paragraphs": [*GOOD_DRAFT["paragraphs"], f"Sales will double by 2030 [{INVENTED_SOURCE}]."],
    "citations": [*GOOD_DRAFT["citations"], INVENTED_SOURCE],
}
UNTITLED_DRAFT = {k: v for k, v in GOOD_DRAFT.items() if k != "title"}


def _op(i: int, agent: str, subtask: str, capability: str, output: Any) -> Op:
    value = {"task_id": "t1", "capability": capability, "status": "ok", "output": output}
    return Op(i, i, agent, OK, "agent.output", subtask, value, meta={"agent": agent})


def history(draft: dict[str, Any], review: dict[str, Any] | None) -> list[Op]:
    """research -> write ``draft`` -> review ``review`` (None: no review), one task."""
    ops = [
        _op(0, "research-1", "t1/research/0", "research", {"facts": FACTS}),
        _op(1, "write-1", "t1/write/0", "write", draft),
    ]
    if review is not None:
        ops.append(_op(2, "review-1", "t1/review/0", "review", review))
    return ops


def review(draft: dict[str, Any], approved: Any = True, **extra: Any) -> dict[str, Any]:
    return {"approved": approved, "score": 8 if approved else 2, "notes": "n", "draft": draft, **extra}


def review_findings(ops: list[Op], auditor: ReviewAuditor | None = None) -> list[Any]:
    return audit_history(ops, [auditor or ReviewAuditor()])


# -- must accept ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param(history(GOOD_DRAFT, review(GOOD_DRAFT)), id="approves a good draft"),
        pytest.param(history(LEAKY_DRAFT, review(LEAKY_DRAFT, approved=False)), id="rejects a leaking draft"),
        pytest.param(
            history(UNSOURCED_DRAFT, review(UNSOURCED_DRAFT, approved=False)), id="rejects unsourced"
        ),
        pytest.param(history(UNTITLED_DRAFT, review(UNTITLED_DRAFT, approved=False)), id="rejects untitled"),
        pytest.param(history(LEAKY_DRAFT, None), id="no review: the writer's problem alone"),
        pytest.param(
            history(LEAKY_DRAFT, {"score": 9, "notes": "n", "draft": LEAKY_DRAFT}), id="no verdict field"
        ),
        pytest.param(history(LEAKY_DRAFT, {"approved": True, "score": 9, "notes": "n"})[::2], id="no draft"),
    ],
)
def test_accepts(ops: list[Op]) -> None:
    assert review_findings(ops) == []


def test_a_good_approved_draft_raises_nothing_at_all() -> None:
    assert audit_history(history(GOOD_DRAFT, review(GOOD_DRAFT))) == []


def test_outputs_of_other_systems_are_not_reviews() -> None:
    # Another system's "critic" approves a leaking submission: not a review by the defaults.
    ops = [
        _op(0, "author-1", "t1/author/0", "author", {"text": f"key {EXAMPLE_KEY}"}),
        _op(
            1,
            "critic-1",
            "t1/critic/0",
            "critic",
            {"approved": True, "draft": {"text": f"key {EXAMPLE_KEY}"}},
        ),
    ]
    assert review_findings(ops) == []


# -- must reject ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "rejected_by"),
    [
        pytest.param(LEAKY_DRAFT, "leakage/aws_access_key_id", id="leaks a secret-looking string"),
        pytest.param(
            UNSOURCED_DRAFT, "grounding/unresolved_citation", id="cites a source research never returned"
        ),
        pytest.param(UNTITLED_DRAFT, "schema/invalid_output", id="misses a required field"),
    ],
)
def test_rejects_approving_a_bad_draft(draft: dict[str, Any], rejected_by: str) -> None:
    (f,) = review_findings(history(draft, review(draft)))
    assert (f.auditor, f.kind, f.severity) == ("review", KIND, "error")
    assert f.subject == "t1/review/0" and f.task_id == "t1"
    assert f.witnesses == (2, 1)  # the review, then the draft it approved
    assert rejected_by in {f"{d['auditor']}/{d['kind']}" for d in f.details["draft_findings"]}
    assert rejected_by in f.message
    assert f.details["verdict"] is True and f.details["draft_op"] == 1
    assert EXAMPLE_KEY not in f.message and EXAMPLE_KEY not in repr(f.details)  # leaks stay masked


def test_the_draft_is_found_in_the_inputs_or_the_writers_output() -> None:
    verdict = {"approved": True, "score": 9, "notes": "n"}
    (f,) = review_findings(history(LEAKY_DRAFT, verdict))  # no draft in the review: the writer's
    assert f.details["draft_from"] == "writer output" and f.witnesses == (2, 1)
    # Live, the review's inputs hold the draft it was sent.
    out = AgentOutput("t1/review/0", "t1", "review", verdict, inputs={"draft": LEAKY_DRAFT}, op=9)
    (f,) = ReviewAuditor().audit(out, World())
    assert f.details["draft_from"] == "review inputs" and f.witnesses == (9,)


def test_the_draft_the_review_carries_is_the_one_judged() -> None:
    # The reviewer returns (and the supervisor stores) a cleaned draft: it approved that one.
    assert review_findings(history(LEAKY_DRAFT, review(GOOD_DRAFT))) == []
    (f,) = review_findings(history(GOOD_DRAFT, review(LEAKY_DRAFT)))
    assert f.details["draft_from"] == "review output" and f.details["draft_op"] is None
    assert f.witnesses == (2,)


def test_no_double_reporting() -> None:
    found = audit_history(history(UNSOURCED_DRAFT, review(UNSOURCED_DRAFT)))
    errors = Counter((f.auditor, f.kind, f.subject) for f in found if f.severity == "error")
    assert errors == {
        ("grounding", "unresolved_citation", "t1/write/0"): 2,  # in a paragraph and in the citations
        ("review", KIND, "t1/review/0"): 1,
    }


def test_roles_are_configurable() -> None:
    critic = ReviewAuditor(
        "critic",
        draft_field="submission",
        approval_field="verdict",
        approved_values=("accept",),
        draft_capability="author",
        judges=[LeakageAuditor()],
    )
    leaky = {"text": f"key {EXAMPLE_KEY}"}

    def ops(verdict: Any) -> list[Op]:
        return [
            _op(0, "author-1", "t1/author/0", "author", leaky),
            _op(1, "critic-1", "t1/critic/0", "critic", {"verdict": verdict}),
        ]

    (f,) = review_findings(ops("accept"), critic)
    assert f.kind == KIND and f.details["draft_from"] == "writer output" and f.witnesses == (1, 0)
    assert review_findings(ops("revise"), critic) == []
    assert review_findings(ops(True), critic) == []  # only the values given approve


def test_by_default_a_truthy_verdict_approves_as_the_reference_supervisor_reads_it() -> None:
    assert [f.kind for f in review_findings(history(LEAKY_DRAFT, review(LEAKY_DRAFT, approved=1)))] == [KIND]
    assert review_findings(history(LEAKY_DRAFT, review(LEAKY_DRAFT, approved=0))) == []


def test_review_auditor_is_a_default_auditor() -> None:
    assert any(isinstance(a, ReviewAuditor) for a in default_auditors())


# -- simulated runs ---------------------------------------------------------------------

MUTANTS = "tests.mutants.review_mutants:"
REQUEST = [BriefRequest(request_id="m-0", topic="heat pumps", token_budget=4000)]


def _run(**impls: str) -> tuple[list[Op], list[Any]]:
    r = simulate(SimConfig(seed=1, workload=REQUEST, options={"impls": impls}))
    assert r.task_states == {"m-0": "done"}
    return r.ops, audit_history(r.ops)


def _verdict(ops: list[Op]) -> Any:
    (out,) = [o for o in ops if o.f == "agent.output" and o.type == OK and o.value["capability"] == "review"]
    return out.value["output"]["approved"]


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_no_false_alarm_on_the_reference_system(seed: int) -> None:
    r = simulate(SimConfig(seed=seed, requests=3))
    found = audit_history(r.ops)
    assert [f for f in found if f.severity == "error"] == []
    assert any(_approved(op) for op in r.ops)  # there were approvals to audit


def _approved(op: Op) -> bool:
    return (
        op.f == "agent.output"
        and op.value.get("capability") == "review"
        and op.value["output"].get("approved")
    )


def test_a_rubber_stamp_approving_an_unsourced_draft_is_caught() -> None:
    ops, found = _run(write=MUTANTS + "InventedSourceWriter", review=MUTANTS + "AlwaysApproves")
    assert _verdict(ops) is True
    (f,) = [f for f in found if f.auditor == "review"]
    assert f.kind == KIND and "grounding/unresolved_citation" in f.message
    # The reference reviewer rejects the same draft (it lists no citations): no finding.
    ops, found = _run(write=MUTANTS + "InventedSourceWriter")
    assert _verdict(ops) is False
    assert [f for f in found if f.auditor == "review"] == []
    assert any(f.auditor == "grounding" and f.severity == "error" for f in found)  # still the writer's


def test_approving_a_leaking_draft_is_caught_whoever_reviews() -> None:
    ops, found = _run(write=MUTANTS + "LeakyWriter", review=MUTANTS + "AlwaysApproves")
    assert _verdict(ops) is True
    assert [f.kind for f in found if f.auditor == "review"] == [KIND]
    # The reference reviewer only asks that sources be cited, so it approves this
    # draft too: it is flagged just the same. A good draft it approves is not (above).
    ops, found = _run(write=MUTANTS + "LeakyWriter")
    assert _verdict(ops) is True
    assert [f.kind for f in found if f.auditor == "review"] == [KIND]


def test_a_rubber_stamp_approving_good_drafts_is_not_flagged() -> None:
    ops, found = _run(review=MUTANTS + "AlwaysApproves")
    assert _verdict(ops) is True
    assert [f for f in found if f.severity == "error"] == []


def test_a_malformed_task_id_is_skipped() -> None:
    world = World()
    auditor = ReviewAuditor()
    assert auditor.audit(AgentOutput("w", ["t"], "write", LEAKY_DRAFT), world) == []  # type: ignore[arg-type]
    verdict = {"approved": True, "score": 9, "notes": "n"}
    assert auditor.audit(AgentOutput("r", {"t": 1}, "review", verdict), world) == []  # type: ignore[arg-type]
