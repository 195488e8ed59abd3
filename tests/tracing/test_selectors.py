"""The Tracetest-style selector and assertion language, on spans made here."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from harness.tracing import SpanQuery, TraceAssertionError, Tracing, spans, trace_problems
from harness.tracing.selectors import SelectorError, parse_value


def _tree(tracing: Tracing) -> SpanQuery:
    """root -> (send a, step w -> (chat m, send b)); and a second trace."""
    t = tracing.tracer
    with t.start_as_current_span("root", attributes={"harness.correlation_id": "c1"}):
        with t.start_as_current_span(
            "send a",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "aws_sqs", "harness.correlation_id": "c1"},
        ):
            pass
        with t.start_as_current_span(
            "step w", attributes={"harness.agent": "writer-1", "harness.correlation_id": "c1"}
        ):
            with t.start_as_current_span(
                "chat m", attributes={"gen_ai.usage.input_tokens": 12, "harness.correlation_id": "c1"}
            ):
                pass
            with t.start_as_current_span(
                "send b", kind=SpanKind.PRODUCER, attributes={"messaging.system": "aws_sqs"}
            ):
                pass
    with t.start_as_current_span("other", attributes={"harness.correlation_id": "c2"}):
        pass
    return spans(tracing)


def test_select_by_name_attributes_and_operators(tracing: Tracing) -> None:
    q = _tree(tracing)
    assert q.select('span[name="send a"]').names == ["send a"]
    assert sorted(q.select('span[messaging.system="aws_sqs"]').names) == ["send a", "send b"]
    assert q.select('span[harness.agent startsWith "writer"]').names == ["step w"]
    assert q.select('span[name contains "chat"]').names == ["chat m"]
    assert q.select("span[gen_ai.usage.input_tokens > 10]").names == ["chat m"]
    assert q.select("span[gen_ai.usage.input_tokens >= 13]").names == []
    assert q.select('span[kind="producer" name endsWith "b"]').names == ["send b"]
    assert len(q.select("span")) == 6


def test_descendant_selectors_and_pseudo_classes(tracing: Tracing) -> None:
    q = _tree(tracing)
    assert sorted(q.select('span[name="step w"] span').names) == ["chat m", "send b"]
    assert q.select('span[name="root"] span[messaging.system="aws_sqs"]:first').names == ["send a"]
    assert q.select('span[name="root"] span[messaging.system="aws_sqs"]:last').names == ["send b"]
    assert q.select('span[messaging.system="aws_sqs"]:nth_child(2)').names == ["send b"]
    assert q.select('span[name="other"] span').names == []


def test_assertions_pass_and_fail_with_every_failure_listed(tracing: Tracing) -> None:
    q = _tree(tracing)
    sends = q.select('span[messaging.system="aws_sqs"]')
    sends.expect(
        'attr:messaging.system = "aws_sqs"', "attr:tracetest.selected_spans.count = 2", "duration < 5s"
    )
    sends.assert_count(2).assert_count(at_least=1, at_most=2).assert_duration(below="1s")
    with pytest.raises(TraceAssertionError) as e:
        sends.expect('kind = "consumer"', "count = 3")
    assert len(e.value.failures) == 3
    assert "selected 2 span(s)" in str(e.value) and "'send a'" in str(e.value)
    with pytest.raises(TraceAssertionError):
        sends.assert_duration(above="10s")


def test_where_and_task(tracing: Tracing) -> None:
    q = _tree(tracing)
    assert q.where(harness_agent="writer-1").names == ["step w"]
    assert q.where(lambda s: s.name.startswith("send")).names == ["send a", "send b"]
    assert len(q.task("c1")) == 5 and q.task("c2").names == ["other"]
    assert q.tasks() == {"c1", "c2"}
    (step,) = q.select('span[name="step w"]')
    assert sorted(q.children(step).names) == ["chat m", "send b"]


def test_connected_traces_and_their_problems(tracing: Tracing) -> None:
    q = _tree(tracing)
    q.assert_connected()
    root = q.select('span[name="root"]')[0]
    without_root = [s for s in q if s is not root]
    problems = trace_problems(without_root)
    assert sum("orphan" in p for p in problems) == 2 and any("0 roots" in p for p in problems)
    # A task spread over two traces.
    t = tracing.tracer
    with t.start_as_current_span("stray", attributes={"harness.correlation_id": "c1"}):
        pass
    with pytest.raises(TraceAssertionError, match="task 'c1' is spread over 2 traces"):
        spans(tracing).assert_connected()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"a b"', "a b"),
        ("3", 3),
        ("2.5", 2.5),
        ("true", True),
        ("500ms", 500_000_000),
        ("2s", 2_000_000_000),
        ("7us", 7000),
    ],
)
def test_values(text: str, value: object) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize("bad", ["spam", 'span[name="x"', "span[name =]", 'span[name "x"]'])
def test_bad_selectors_say_so(tracing: Tracing, bad: str) -> None:
    with pytest.raises(SelectorError):
        _tree(tracing).select(bad)
