"""Properties over the scripted model's outputs: the auditors accept whatever
the honest workers produce, and catch a changed number anywhere in a brief."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.audit import AgentOutput, GroundingAuditor, World, default_auditors
from reference_system.llm import ScriptedModel
from reference_system.workload import TOPICS


def _outputs(seed: int, topic: str) -> list[AgentOutput]:
    model = ScriptedModel(seed=seed)
    facts: list[dict[str, Any]] = []
    outs = []
    for i in range(2):
        sub = f"t/research/{i}"
        c = model.complete("research", f"facts {i}", {"subtopic": f"{topic}: {i}", "subtask_id": sub})
        facts += c.output["facts"]
        outs.append(
            AgentOutput(sub, "t", "research", c.output, tokens_used=c.total_tokens, budget=4000, op=i)
        )
    w = model.complete("write", "brief", {"topic": topic, "facts": facts})
    outs.append(
        AgentOutput("t/write/0", "t", "write", w.output, tokens_used=w.total_tokens, budget=4000, op=10)
    )
    r = model.complete("review", "review", {"draft": w.output})
    review = {**r.output, "draft": w.output}
    outs.append(
        AgentOutput("t/review/0", "t", "review", review, tokens_used=r.total_tokens, budget=4000, op=11)
    )
    return outs


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), topic=st.sampled_from(TOPICS))
def test_honest_outputs_raise_no_findings(seed: int, topic: str) -> None:
    world = World(agents={"research-1"})
    auditors = default_auditors()
    found = []
    for out in _outputs(seed, topic):
        for a in auditors:
            found += a.audit(out, world)
        world.learn_output(out)
    assert found == []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), topic=st.sampled_from(TOPICS), data=st.data())
def test_a_changed_number_in_a_brief_is_ungrounded(seed: int, topic: str, data: st.DataObject) -> None:
    outs = _outputs(seed, topic)
    world = World()
    for out in outs[:2]:
        world.learn_output(out)
    brief = outs[2]
    paras = list(brief.output["paragraphs"])
    i = data.draw(st.integers(0, len(paras) - 1))
    bump = data.draw(st.sampled_from(["0.1", "1", "10"]))
    text, cite = paras[i].rsplit(" [", 1)
    number = text.rsplit(" at ", 1)[1].split()[0]
    changed = round(float(number) + float(bump), 1)
    paras[i] = f"{text.rsplit(' at ', 1)[0]} at {changed} percent [{cite}"
    spoiled = AgentOutput(brief.subtask_id, "t", "write", {**brief.output, "paragraphs": paras}, op=10)
    found = GroundingAuditor().audit(spoiled, world)
    assert [f.kind for f in found] == ["ungrounded_claim"]
    assert found[0].details["paragraph"] == i
