"""A seeded (or derandomized) run of a suite property draws from its seed
alone: Hypothesis mixes in no literal from the modules the process happened
to load, so a rerun of one test, in a process that collected other tests,
draws the same cases. An unseeded run is left as Hypothesis makes it."""

from __future__ import annotations

from hypothesis.internal.conjecture import providers

from harness.suite import property_test
from harness.system import SystemRef

#: A literal that Hypothesis would find in this module's source.
LOCAL_LITERAL = "zz-local-literal-zz"


def _constants_seen(**kw: object) -> list[list[object]]:
    seen: list[list[object]] = []

    def look(_: object) -> None:
        seen.append(list(providers._get_local_constants()))

    property_test("survives_model_faults", SystemRef(), max_examples=2, on_example=look, **kw)()
    return seen


def test_a_seeded_run_sees_no_local_constants(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import harness.suite as suite

    monkeypatch.setattr(suite, "check_case", lambda *a, **k: None)  # draw, do not run
    for kw in ({"seed": 7}, {"derandomize": True}):
        seen = _constants_seen(**kw)
        assert seen and all(c == [] for c in seen), kw
    assert providers._get_local_constants.__name__ == "_get_local_constants"


def test_the_same_seed_draws_the_same_cases_whatever_was_imported(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import harness.suite as suite

    monkeypatch.setattr(suite, "check_case", lambda *a, **k: None)
    drawn: list[list[str]] = []
    for extra in (False, True):
        if extra:  # what a different collection of test modules would bring
            providers.CONSTANTS_CACHE.cache.clear()
            monkeypatch.setattr(
                providers,
                "_local_constants",
                providers.Constants(integers={1, 2, 3, 4000}, strings={LOCAL_LITERAL}),
            )
        cases: list[object] = []
        property_test(
            "survives_model_faults", SystemRef(), max_examples=10, seed=11, on_example=cases.append
        )()
        drawn.append([c.dumps() for c in cases])  # type: ignore[attr-defined]
    assert drawn[0] == drawn[1]
