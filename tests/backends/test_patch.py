"""The refcounted moto patches behind the embedded backend."""

from __future__ import annotations

from typing import Any

from harness.backends._patch import patched


class Thing:
    def hello(self) -> str:
        return "hello"


def _loud(original: Any) -> Any:
    return lambda self: original(self).upper()


def test_nested_opens_patch_once_and_the_last_close_restores() -> None:
    original = Thing.hello
    with patched(Thing, "hello", _loud):
        assert Thing().hello() == "HELLO"
        with patched(Thing, "hello", _loud):
            assert Thing().hello() == "HELLO"  # not wrapped twice
        assert Thing().hello() == "HELLO"  # still open once
    assert Thing.hello is original


def test_a_later_patch_by_someone_else_is_left_alone() -> None:
    def theirs(self: Thing) -> str:
        return "theirs"

    original = Thing.hello
    try:
        with patched(Thing, "hello", _loud):
            Thing.hello = theirs  # type: ignore[method-assign]
        assert Thing.hello is theirs
    finally:
        Thing.hello = original  # type: ignore[method-assign]
