"""Validation at run time: an instrumented Session checks every message it
sends or receives against its contract. A violation is recorded as an
operation (process ``contracts``, type ``fail``, f ``contract.violation``,
key the message type) and the run goes on.

    validator = install(session, Registry.load("contracts"))

Outgoing SQS and SNS messages are checked by a message stamper before they
are serialised; incoming SQS messages by a call observer when
``ReceiveMessage`` returns. Payloads inside an envelope are checked against
their own contracts where the envelope's schema says so (``x-payloads``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from harness.checkers.verdict import Anomaly, Verdict
from harness.contracts.registry import Registry
from harness.history.model import FAIL, Op
from harness.history.recorder import Recorder
from harness.instrument.context import (
    CORRELATION_ATTR,
    MESSAGE_ID_ATTR,
    MESSAGE_TYPE_ATTR,
    MESSAGE_VERSION_ATTR,
)

PROCESS = "contracts"
VIOLATION = "contract.violation"
UNTYPED = "<untyped>"


class MessageValidator:
    """Checks messages against a registry and records each violation."""

    def __init__(
        self, registry: Registry, recorder: Recorder, agent: str, *, require_type: bool = True
    ) -> None:
        self.registry = registry
        self.recorder = recorder
        self.agent = agent
        self.require_type = require_type
        self.checked: Counter[str] = Counter()  # direction -> messages checked
        self.violations: Counter[str] = Counter()
        self._lock = threading.Lock()

    # -- the check -------------------------------------------------------------

    def check(self, body: Any, attrs: Mapping[str, str | None]) -> tuple[str | None, list[str]]:
        """(message type, why the message breaks its contract); no reasons: it keeps it."""
        mtype = attrs.get(MESSAGE_TYPE_ATTR)
        if mtype is None:
            return None, ([f"no {MESSAGE_TYPE_ATTR} attribute"] if self.require_type else [])
        errors: list[str] = []
        raw_version = attrs.get(MESSAGE_VERSION_ATTR)
        version: int | None = None
        if raw_version is None:
            errors.append(f"no {MESSAGE_VERSION_ATTR} attribute")
        else:
            try:
                version = int(raw_version)
            except ValueError:
                return mtype, [f"{MESSAGE_VERSION_ATTR} {raw_version!r} is not a version number"]
        if not self.registry.has(mtype):
            return mtype, [*errors, f"no contract for message type {mtype!r}"]
        if version is not None and not self.registry.has(mtype, version):
            return mtype, [f"no contract for {mtype} version {version}"]
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                return mtype, [*errors, "body is not JSON"]
        errors += self.registry.errors(mtype, version, body)
        if isinstance(body, dict):
            errors += self._payloads(mtype, version, body)
        return mtype, errors

    def _payloads(self, mtype: str, version: int | None, body: dict[str, Any]) -> list[str]:
        out = []
        for name, link in self.registry.links(mtype, version).items():
            if name not in body or any(body.get(k) != v for k, v in link.when.items()):
                continue
            try:
                contract = link.contract.format_map(body)
            except (KeyError, ValueError, IndexError):
                continue
            if self.registry.has(contract):
                out += ["$." + name + e[1:] for e in self.registry.errors(contract, None, body[name])]
        return out

    def _observe(self, direction: str, body: Any, attrs: Mapping[str, str | None], where: str) -> None:
        with self._lock:
            self.checked[direction] += 1
        mtype, errors = self.check(body, attrs)
        if not errors:
            return
        with self._lock:
            self.violations[direction] += 1
        self.recorder.record(
            PROCESS,
            FAIL,
            VIOLATION,
            mtype or UNTYPED,
            {
                "message_id": attrs.get(MESSAGE_ID_ATTR),
                "version": attrs.get(MESSAGE_VERSION_ATTR),
                "errors": errors,
                "direction": direction,
                "agent": self.agent,
                "where": where,
            },
            correlation_id=attrs.get(CORRELATION_ATTR),
            error="ContractViolation",
            agent=self.agent,
        )

    # -- the session's extension points -----------------------------------------

    def __call__(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """Message stamper: check an outgoing SQS or SNS message."""
        body = params.get("MessageBody") if service == "sqs" else params.get("Message")
        where = params.get("QueueUrl") or params.get("TopicArn") or params.get("TargetArn") or ""
        self._observe("send", body, _attrs(params), f"{service}.{operation} {where}".strip())

    def start(self, call: Any) -> None:
        pass

    def end(self, call: Any, type: str, error: str | None, parsed: dict[str, Any] | None) -> None:
        """Call observer: check every message an SQS ReceiveMessage returned."""
        if call.service != "sqs" or call.operation != "ReceiveMessage" or not parsed:
            return
        where = f"sqs.ReceiveMessage {call.params.get('QueueUrl', '')}".strip()
        for m in parsed.get("Messages", []) or []:
            self._observe("receive", m.get("Body"), _attrs(m), where)


def _attrs(carrier: Mapping[str, Any]) -> dict[str, str | None]:
    raw = carrier.get("MessageAttributes") or {}
    return {k: (v or {}).get("StringValue") for k, v in raw.items()}


def install(
    session: Any, registry: Registry | None = None, *, directory: str | None = None, require_type: bool = True
) -> MessageValidator:
    """Validate every message ``session`` (an instrumented Session) sends or receives."""
    reg = registry if registry is not None else Registry.load(directory or "contracts")
    inst = session.instrumentation
    v = MessageValidator(reg, inst.recorder, inst.agent, require_type=require_type)
    inst.stampers.append(v)
    inst.observers.append(v)
    return v


def check_contracts(history: Iterable[Op]) -> Verdict:
    """A verdict over a history: every recorded contract violation is an anomaly."""
    anomalies = []
    seen = 0
    for op in history:
        if op.f != VIOLATION or op.type != FAIL:
            continue
        seen += 1
        v = op.value if isinstance(op.value, dict) else {}
        errs = v.get("errors") or []
        msg = (
            f"{v.get('direction', '?')} by {v.get('agent', '?')}: {op.key} message breaks its contract: "
            + (errs[0] if errs else "?")
        )
        anomalies.append(Anomaly("contract_violation", (op.index,), msg, key=op.key, details=v))
    return Verdict("contracts", not anomalies, tuple(anomalies), {"violations": seen})
