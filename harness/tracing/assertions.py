"""Assertions over spans: Tracetest-style selections (see
:mod:`harness.tracing.selectors`) and the structural check that every task is
one connected trace with no orphan spans: none whose parent is missing, and
none that lost the correlation id of the task it belongs to."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from harness.tracing import semconv as sc
from harness.tracing.selectors import check_assertion, field_of, select


class TraceAssertionError(AssertionError):
    """Spans that do not meet an expectation; the message lists every failure."""

    def __init__(self, what: str, failures: list[str]) -> None:
        self.failures = failures
        shown = "\n  ".join(failures[:20])
        more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"{what}:\n  {shown}{more}")


def _key(s: ReadableSpan) -> tuple[int, int]:
    return (s.context.trace_id, s.context.span_id)


def trace_problems(spans: Iterable[ReadableSpan], by: str = sc.CORRELATION_ID) -> list[str]:
    """What keeps ``spans`` from being one connected trace per task: orphans
    (a parent that is not among the spans), traces with more than one root,
    and tasks (spans sharing attribute ``by``) spread over several traces."""
    spans = list(spans)
    ids = {_key(s) for s in spans}
    problems: list[str] = []
    roots: dict[int, list[ReadableSpan]] = defaultdict(list)
    for s in spans:
        p = s.parent
        if p is None:
            roots[s.context.trace_id].append(s)
        elif (p.trace_id, p.span_id) not in ids:
            problems.append(
                f"orphan span {s.name!r} ({s.context.span_id:016x}): parent {p.span_id:016x} "
                f"of trace {p.trace_id:032x} is missing"
            )
    traces = {s.context.trace_id for s in spans}
    for t in sorted(traces):
        n = len(roots.get(t, []))
        if n != 1:
            names = ", ".join(repr(s.name) for s in roots.get(t, [])[:3])
            problems.append(f"trace {t:032x} has {n} roots" + (f" ({names})" if names else ""))
    tasks: dict[Any, set[int]] = defaultdict(set)
    for s in spans:
        cid = (s.attributes or {}).get(by)
        if cid is not None:
            tasks[cid].add(s.context.trace_id)
    for cid, ts in sorted(tasks.items(), key=lambda kv: str(kv[0])):
        if len(ts) > 1:
            problems.append(f"task {cid!r} is spread over {len(ts)} traces")
    problems.extend(dropped_correlation(spans))
    return problems


def _cid(s: ReadableSpan) -> Any:
    return (s.attributes or {}).get(sc.CORRELATION_ID)


def _received(s: ReadableSpan) -> set[str]:
    got = (s.attributes or {}).get(sc.RECEIVED_CORRELATION_IDS)
    return {str(c) for c in got} if isinstance(got, (list, tuple)) else set()


def dropped_correlation(spans: Iterable[ReadableSpan]) -> list[str]:
    """Orphans of a task: spans with no correlation id that belong to a task
    whose messages they handle or follow from.

    A span should carry a task's correlation id when it was made while
    handling a message that carried it (``harness.received_correlation_ids``,
    recorded by the call tracer inside an agent step), or when it is a child
    of, or linked to, a span that handled such a message or is itself such an
    orphan: the next agent's receive and step hang from the message the
    orphan sent."""
    spans = list(spans)
    followers: dict[tuple[int, int], list[ReadableSpan]] = defaultdict(list)
    for s in spans:
        if _cid(s) is not None:
            continue
        refs = [s.parent] if s.parent is not None else []
        refs += [link.context for link in s.links]
        for r in refs:
            followers[(r.trace_id, r.span_id)].append(s)
    expected: dict[tuple[int, int], set[str]] = defaultdict(set)
    why: dict[tuple[int, int], str] = {}
    todo: deque[ReadableSpan] = deque()

    def owe(s: ReadableSpan, cids: set[str], reason: str) -> None:
        new = cids - expected[_key(s)]
        if new:
            expected[_key(s)] |= new
            why.setdefault(_key(s), reason)
            todo.append(s)

    for s in spans:
        got = _received(s)
        if not got:
            continue
        if _cid(s) is None:
            owe(s, got, "it was made while handling a message that carried it")
        else:
            for f in followers[_key(s)]:
                owe(f, got, f"it follows from {s.name!r} ({s.context.span_id:016x}), which handled it")
    while todo:
        s = todo.popleft()
        for f in followers[_key(s)]:
            owe(f, expected[_key(s)], f"it follows from orphan {s.name!r} ({s.context.span_id:016x})")
    orphans = sorted((s for s in spans if expected.get(_key(s))), key=lambda s: s.start_time or 0)
    return [
        f"orphan span {s.name!r} ({s.context.span_id:016x}) of agent "
        f"{(s.attributes or {}).get(sc.AGENT, '?')!r} carries no correlation id; it should carry "
        + " or ".join(repr(c) for c in sorted(expected[_key(s)]))
        + f": {why[_key(s)]}"
        for s in orphans
    ]


class SpanQuery:
    """A selection of spans, with the whole set kept for structural questions.

    Chain selections and assertions; each assertion raises
    :class:`TraceAssertionError` (listing every failure) or returns ``self``::

        q = spans(tracing)
        q.select('span[messaging.operation.type="send"]').expect(
            'attr:messaging.system = "aws_sqs"', "attr:tracetest.selected_spans.count >= 3")
        q.assert_connected()
    """

    def __init__(
        self, spans: Iterable[ReadableSpan], *, universe: Iterable[ReadableSpan] | None = None
    ) -> None:
        self.spans = list(spans)
        self.universe = list(universe) if universe is not None else self.spans
        self.description = "all spans"

    def _sub(self, chosen: list[ReadableSpan], description: str) -> SpanQuery:
        q = SpanQuery(chosen, universe=self.universe)
        q.description = description
        return q

    # -- selecting -------------------------------------------------------------------

    def select(self, selector: str) -> SpanQuery:
        """Spans that ``selector`` picks; descendants are looked for in the whole set."""
        chosen = set(map(_key, select(self.universe, selector)))
        return self._sub([s for s in self.spans if _key(s) in chosen], selector)

    def where(self, predicate: Callable[[ReadableSpan], bool] | None = None, **attributes: Any) -> SpanQuery:
        """Spans for which ``predicate`` holds and whose attributes equal ``attributes``
        (``messaging_system="aws_sqs"``: underscores stand for dots)."""
        wanted = {
            k.replace("__", "\0").replace("_", ".").replace("\0", "_"): v for k, v in attributes.items()
        }

        def ok(s: ReadableSpan) -> bool:
            return (predicate is None or predicate(s)) and all(field_of(s, k) == v for k, v in wanted.items())

        return self._sub([s for s in self.spans if ok(s)], f"{self.description} where {wanted}")

    def trace(self, trace_id: int) -> SpanQuery:
        return self._sub(
            [s for s in self.universe if s.context.trace_id == trace_id], f"trace {trace_id:032x}"
        )

    def task(self, correlation_id: str) -> SpanQuery:
        """Every span of the trace that the task ``correlation_id`` belongs to."""
        traces = {
            s.context.trace_id
            for s in self.universe
            if (s.attributes or {}).get(sc.CORRELATION_ID) == correlation_id
        }
        return self._sub([s for s in self.universe if s.context.trace_id in traces], f"task {correlation_id}")

    def children(self, span: ReadableSpan) -> SpanQuery:
        return self._sub(
            [
                s
                for s in self.universe
                if s.parent is not None and (s.parent.trace_id, s.parent.span_id) == _key(span)
            ],
            f"children of {span.name!r}",
        )

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[ReadableSpan]:
        return iter(self.spans)

    def __getitem__(self, i: int) -> ReadableSpan:
        return self.spans[i]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.spans]

    def values(self, field: str) -> list[Any]:
        return [field_of(s, field) for s in self.spans]

    def traces(self) -> dict[int, list[ReadableSpan]]:
        out: dict[int, list[ReadableSpan]] = defaultdict(list)
        for s in self.spans:
            out[s.context.trace_id].append(s)
        return dict(out)

    def tasks(self) -> set[Any]:
        return {c for c in self.values(sc.CORRELATION_ID) if c is not None}

    # -- asserting -------------------------------------------------------------------------

    def expect(self, *assertions: str) -> SpanQuery:
        """Tracetest-style assertions on this selection (see :mod:`~harness.tracing.selectors`)."""
        failures = [f for a in assertions for f in check_assertion(self.spans, a)]
        if failures:
            raise TraceAssertionError(f"{self.description}: {len(failures)} failed assertion(s)", failures)
        return self

    def assert_count(
        self, n: int | None = None, *, at_least: int | None = None, at_most: int | None = None
    ) -> SpanQuery:
        checks = []
        if n is not None:
            checks.append(f"count = {n}")
        if at_least is not None:
            checks.append(f"count >= {at_least}")
        if at_most is not None:
            checks.append(f"count <= {at_most}")
        return self.expect(*checks)

    def assert_duration(self, *, below: str | int | None = None, above: str | int | None = None) -> SpanQuery:
        checks = []
        if below is not None:
            checks.append(f"duration < {below}")
        if above is not None:
            checks.append(f"duration > {above}")
        return self.expect(*checks)

    def assert_connected(self, by: str = sc.CORRELATION_ID) -> SpanQuery:
        """Every task is one connected trace, with no orphan spans: none whose
        parent is missing, and none that should carry a task's correlation id
        and does not (see :func:`dropped_correlation`): an agent that handles
        a task's message but drops its correlation id on the way to the next
        agent fails here, naming the spans, the agent and the id."""
        problems = trace_problems(self.universe, by)
        if problems:
            raise TraceAssertionError("the spans are not one connected trace per task", problems)
        return self


def spans(source: Any) -> SpanQuery:
    """A query over a Tracing's finished spans, or over any spans given."""
    if hasattr(source, "spans") and callable(source.spans):
        return SpanQuery(source.spans())
    return SpanQuery(source)


__all__ = ["SpanQuery", "TraceAssertionError", "dropped_correlation", "spans", "trace_problems"]
