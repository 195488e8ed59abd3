"""Patching a moto method for as long as any embedded backend is open.

Backends may be opened in several threads and nest (a test's backend and a
fixture's); the first to open installs the wrapper, the last to close puts
the original back, unless someone else has patched the method since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
#: (class, method name) -> [original, users]
_active: dict[tuple[type, str], list[Any]] = {}


@contextmanager
def patched(
    owner: type, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Iterator[None]:
    """Replace ``owner.name`` with ``wrap(original)`` while the context is open."""
    key = (owner, name)
    with _lock:
        entry = _active.get(key)
        if entry is None:
            original = getattr(owner, name)
            wrapper = wrap(original)
            wrapper.harness_wrapper = True  # type: ignore[attr-defined]
            setattr(owner, name, wrapper)
            _active[key] = [original, 1]
        else:
            entry[1] += 1
    try:
        yield
    finally:
        with _lock:
            entry = _active[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _active[key]
                if getattr(getattr(owner, name), "harness_wrapper", False):
                    setattr(owner, name, entry[0])
