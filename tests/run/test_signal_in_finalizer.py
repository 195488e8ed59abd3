"""A signal that lands while Python runs a finalizer still interrupts the
run: the exception raised there is dropped by Python (and not printed), and
the run's loop unwinds on the signal the handler noted, at its next look."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import weakref
from typing import Any

import pytest

from harness.run import main as run_main


class _Thing:
    pass


def _signal_me(sig: int) -> None:
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + 5
    while not run_main._PENDING and time.monotonic() < deadline:
        time.sleep(0.01)  # the handler runs here, inside the finalizer


@pytest.mark.parametrize(
    ("sig", "raised"), [(signal.SIGTERM, run_main._Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_signal_in_a_finalizer_is_noted_not_dropped(
    sig: int, raised: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    with run_main._terminate_as_exception():
        thing = _Thing()
        weakref.finalize(thing, _signal_me, sig)
        del thing
        gc.collect()
        assert [sig] == run_main._PENDING
        with pytest.raises(raised):
            run_main._raise_if_interrupted()
    assert dropped == []


def test_a_signal_elsewhere_raises_at_once() -> None:
    with run_main._terminate_as_exception(), pytest.raises(run_main._Terminated):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
