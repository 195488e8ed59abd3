"""Declared side effects and other non-AWS work, recorded as history operations.

A side effect outside AWS (publishing, charging, e-mailing, calling a tool) is
declared with the logical operation it belongs to (its idempotency key), so the
idempotency checker can count how many times each one really happened.

An effect is named the same way in :meth:`Effects.perform` and
:meth:`Effects.attempt`: by its kind (``"publish"``), recorded as
``effect.publish``. A name that already starts with ``effect.`` is taken as
the full operation name and recorded as is, so ``"effect.publish"`` (what
``attempt`` used to require) means the same effect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from harness.history.model import FAIL, INFO, INVOKE, OK
from harness.history.recorder import Recorder
from harness.instrument.context import ATTEMPT_META, OPERATION_META, current_correlation_id, current_operation

T = TypeVar("T")

#: The ``f`` prefix of declared side effects (the idempotency checker's).
EFFECT_PREFIX = "effect."


def _operation_meta() -> dict[str, str]:
    cur = current_operation()
    if cur is None:
        return {}
    op, attempt = cur
    return {OPERATION_META: op, ATTEMPT_META: attempt} if attempt is not None else {OPERATION_META: op}


def effect_name(kind: str) -> str:
    """The operation name of the effect ``kind``: ``effect.<kind>``; a name
    already starting with ``effect.`` is returned unchanged."""
    if not kind or kind == EFFECT_PREFIX:
        raise ValueError("an effect needs a kind, e.g. 'publish'")
    return kind if kind.startswith(EFFECT_PREFIX) else EFFECT_PREFIX + kind


class Effects:
    """Records operations that are not AWS calls, under an agent's name."""

    def __init__(self, recorder: Recorder, agent: str, process: str | None = None) -> None:
        self.recorder = recorder
        self.agent = agent
        self.process = process

    def _process(self) -> str:
        if self.process is not None:
            return self.process
        t = threading.current_thread()
        return self.agent if t is threading.main_thread() else f"{self.agent}/{t.name}"

    def run(
        self,
        f: str,
        key: Any,
        fn: Callable[[], T],
        value: Any = None,
        result: Callable[[T], Any] | None = None,
    ) -> T:
        """Record ``f`` around ``fn()``: ``invoke``, then ``ok`` with
        ``result(returned)`` as value, or ``info`` if ``fn`` raised (its effect
        is then unknown)."""
        proc = self._process()
        cid = current_correlation_id()
        meta = _operation_meta() if f.startswith(EFFECT_PREFIX) else {}
        self.recorder.record(proc, INVOKE, f, key, value, correlation_id=cid, agent=self.agent, **meta)
        try:
            out = fn()
        except Exception as e:
            self.recorder.record(
                proc, INFO, f, key, None, correlation_id=cid, error=type(e).__name__, agent=self.agent, **meta
            )
            raise
        self.recorder.record(
            proc, OK, f, key, result(out) if result else value, correlation_id=cid, agent=self.agent, **meta
        )
        return out

    def attempt(self, kind: str, key: Any, fn: Callable[[], bool], value: Any = None) -> bool:
        """Run ``fn()``, which returns whether the effect ``kind`` (see
        :func:`effect_name`) took effect for the logical operation ``key``, and
        record it: ``invoke`` before, then ``ok`` if it did, ``fail`` if it
        certainly did not (a provider refused a repeated idempotency key),
        ``info`` if ``fn`` raised. ``fn`` may make recorded AWS calls of its
        own, so the operation is recorded on a process of its own
        (``<process>/effect``): the agent's process never has two operations
        open at once. If the agent dies inside ``fn``, the invocation stays
        open, and the checkers take the effect as possibly done, as Jepsen
        takes a crashed process's last operation."""
        f = effect_name(kind)
        proc = f"{self._process()}/effect"
        cid = current_correlation_id()
        meta = _operation_meta()
        self.recorder.record(proc, INVOKE, f, key, value, correlation_id=cid, agent=self.agent, **meta)
        try:
            done = fn()
        except Exception as e:
            typ = FAIL if _certainly_not_applied(e) else INFO
            self.recorder.record(
                proc, typ, f, key, value, correlation_id=cid, error=type(e).__name__, agent=self.agent, **meta
            )
            raise
        self.recorder.record(
            proc,
            OK if done else FAIL,
            f,
            key,
            value,
            correlation_id=cid,
            error=None if done else "AlreadyDone",
            agent=self.agent,
            **meta,
        )
        return done

    def _pair(self, f: str, key: Any, value: Any, typ: str, error: str | None) -> None:
        proc = self._process()
        cid = current_correlation_id()
        self.recorder.record(proc, INVOKE, f, key, value, correlation_id=cid, agent=self.agent)
        self.recorder.record(proc, typ, f, key, value, correlation_id=cid, error=error, agent=self.agent)

    def perform(self, kind: str, key: str, fn: Callable[[], T] | None = None, value: Any = None) -> T | None:
        """Perform the side effect ``kind`` (see :func:`effect_name`) for the
        logical operation ``key``."""
        return self.run(effect_name(kind), key, fn or (lambda: None), value)  # type: ignore[arg-type, return-value]

    def note(
        self, f: str, key: Any = None, value: Any = None, *, failed: bool = False, error: str | None = None
    ) -> None:
        """Record an instantaneous event (an invoke and its completion at once),
        e.g. a state transition or a budget allocation."""
        self._pair(f, key, value, FAIL if failed else OK, error)


def _certainly_not_applied(e: Exception) -> bool:
    """An AWS refusal (4xx: throttled, invalid) or a connection never made."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    if isinstance(e, (EndpointConnectionError, ConnectTimeoutError)):
        return True
    if isinstance(e, ClientError):
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        return int(status) < 500
    return False
