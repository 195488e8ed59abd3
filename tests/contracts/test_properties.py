"""The diff checked against data: where it says compatible, Hypothesis-made
instances of the writer validate under the reader (BACKWARD: old instances
under the new schema; FORWARD: new instances under the old)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from harness.contracts.compat import breaking_changes
from harness.contracts.schema import Doc
from tests.contracts.strategies import BREAKING, RANDOM, SAFE, evolve

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def _compatible(writer: Any, reader: Any, direction: str) -> bool:
    return not breaking_changes(Doc(writer), Doc(reader), direction)  # type: ignore[arg-type]


@settings(PROPERTY, max_examples=60)
@given(evolution=evolve(RANDOM, n=3), data=st.data())
def test_what_the_diff_calls_compatible_is_compatible_on_data(evolution: Any, data: st.DataObject) -> None:
    old, new, edits = evolution
    docs = {"old": Doc(old), "new": Doc(new)}
    for direction in ("backward", "forward"):
        writer, reader = (old, new) if direction == "backward" else (new, old)
        w, r = (docs["old"], docs["new"]) if direction == "backward" else (docs["new"], docs["old"])
        ok = not breaking_changes(w, r, direction)
        event(f"{direction}: {'compatible' if ok else 'breaking'}")
        if not ok:
            continue
        check = Draft202012Validator(reader)
        for _ in range(3):
            instance = data.draw(from_schema(writer), label=f"{direction} instance")
            assert check.is_valid(instance), (direction, edits, writer, reader, instance)


def test_the_random_evolutions_exercise_both_verdicts() -> None:
    # Guards against a vacuous property: the evolutions it draws must include
    # compatible and breaking ones in both directions.
    seen: Counter[str] = Counter()

    @settings(PROPERTY, max_examples=60, derandomize=True)
    @given(evolve(RANDOM, n=3))
    def classify(evolution: Any) -> None:
        old, new, _ = evolution
        for direction in ("backward", "forward"):
            writer, reader = (old, new) if direction == "backward" else (new, old)
            seen[f"{direction} {'compatible' if _compatible(writer, reader, direction) else 'breaking'}"] += 1

    classify()
    for key in ("backward compatible", "backward breaking", "forward compatible", "forward breaking"):
        assert seen[key] >= 3, seen


@PROPERTY
@given(evolve(SAFE, n=2))
def test_safe_evolutions_are_backward_compatible(evolution: Any) -> None:
    old, new, edits = evolution
    assert _compatible(old, new, "backward"), (edits, old, new)


@PROPERTY
@given(evolve(BREAKING, n=1))
def test_breaking_evolutions_are_reported(evolution: Any) -> None:
    old, new, edits = evolution
    if edits:
        assert not _compatible(old, new, "backward"), (edits, old, new)
