"""Systems under test with a known bug, for the campaign's tests: the
reference system with one of the mutants of ``tests/mutants`` plugged in,
named by import path (``--system tests.explore.systems:leaky``) as a user's
own system would be."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.system import System, load_system


def _reference_with(name: str, **options: Any) -> System:
    ref = load_system()
    return dataclasses.replace(ref, name=name, options={**ref.options, **options}, spec="")


def leaky() -> System:
    """The writer puts a credential in the brief's title (``LeakyWriter``):
    every case whose request reaches the write stage fails the findings checker."""
    return _reference_with(
        "reference+leaky-writer", impls={"write": "tests.mutants.review_mutants:LeakyWriter"}
    )
