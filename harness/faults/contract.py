"""The fault contract: where AWS permits each kind of fault, and in what form.

A fault the harness injects must be one AWS could produce on that call, or a
checker reports a correct system as broken. What a plan aims at is checked
when it loads (:func:`refusal`); where its target is a glob that may also
match calls the contract excludes, the injector carries the fault out only in
the form AWS permits there. The AWS documentation each rule rests on is
listed in ``harness/faults/README.md``.
"""

from __future__ import annotations

import fnmatch
from typing import Any

#: DynamoDB's reads that are eventually consistent unless ``ConsistentRead``
#: is true (TransactGetItems, and every write, are always strongly consistent).
EVENTUALLY_CONSISTENT_READS: tuple[str, ...] = ("GetItem", "BatchGetItem", "Query", "Scan")

#: The error code each service answers with when it throttles (a planned
#: throttle without a ``code``). Any other service: ``ThrottlingException``,
#: which every service's API Reference lists among its Common Errors.
THROTTLE_CODES: dict[str, str] = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sqs": "RequestThrottled",
    "sns": "Throttling",
    "events": "ThrottlingException",
    "stepfunctions": "ThrottlingException",
}
DEFAULT_THROTTLE_CODE = "ThrottlingException"

#: Every throttling error code a service answers with: its own (botocore's
#: service model, the service's API Reference) and the common one.
SERVICE_THROTTLE_CODES: dict[str, frozenset[str]] = {
    "sqs": frozenset({"RequestThrottled", "ThrottlingException", "KmsThrottled"}),
    "dynamodb": frozenset(
        {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
    ),
    "sns": frozenset({"Throttling", "ThrottlingException", "Throttled", "KMSThrottling"}),
    "events": frozenset({"ThrottlingException"}),
    "stepfunctions": frozenset({"ThrottlingException", "KmsThrottlingException"}),
    "lambda": frozenset({"TooManyRequestsException", "ThrottlingException"}),
}

#: Throttling answers that do not come with HTTP 400.
_THROTTLE_STATUS: dict[tuple[str, str], int] = {
    ("lambda", "TooManyRequestsException"): 429,
    ("sns", "Throttled"): 429,
}


def throttle_answer(service: str, code: Any = None) -> tuple[str, int]:
    """The error code and HTTP status of a throttle of a ``service`` call;
    ``code`` (the fault's) only if the service answers with it, else the
    service's own code (a plan aimed at a glob may reach other services)."""
    default = THROTTLE_CODES.get(service, DEFAULT_THROTTLE_CODE)
    known = SERVICE_THROTTLE_CODES.get(service)
    given = isinstance(code, str) and code and (known is None or code in known)
    chosen = code if given else default
    return chosen, _THROTTLE_STATUS.get((service, chosen), 400)


def _may_match(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value or fnmatch.fnmatchcase(value, pattern)


def refusal(kind: str, target: Any, params: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """Why AWS could never produce a ``kind`` fault on ``target``: the field
    (below the fault) at fault and a one-line reason; None if it could."""
    service, operation, resource = target.service, target.operation, target.resource
    if kind in ("duplicate_delivery", "reorder"):
        if not _may_match(service, "sqs"):
            return ("target", "service"), (
                f"SQS delivers messages: {kind} applies to sqs ReceiveMessage, not to service {service!r}"
            )
        if not _may_match(operation, "ReceiveMessage"):
            return ("target", "operation"), (
                f"messages are delivered by ReceiveMessage: {kind} cannot aim at {operation!r}"
            )
        if kind == "reorder" and resource is not None and resource.endswith(".fifo"):
            return ("target", "resource"), (
                f"{resource!r} names FIFO queues, which deliver each message group in order: "
                "reorder applies to standard queues only"
            )
    elif kind == "stale_read":
        if not _may_match(service, "dynamodb"):
            return ("target", "service"), (
                f"stale reads are DynamoDB's eventually consistent reads: not service {service!r}"
            )
        if not any(_may_match(operation, op) for op in EVENTUALLY_CONSISTENT_READS):
            return ("target", "operation"), (
                f"{operation!r} is not an eventually consistent read "
                f"({', '.join(EVENTUALLY_CONSISTENT_READS)}): stale_read cannot aim at it"
            )
    elif kind == "throttle" and isinstance(params.get("code"), str) and params["code"]:
        # A glob may reach services this table does not know: there the code
        # is used as given, elsewhere replaced by the service's own.
        code, known = params["code"], SERVICE_THROTTLE_CODES.get(service)
        if known is not None and code not in known:
            return ("params", "code"), (
                f"{service} does not throttle with {code!r}: use one of {', '.join(sorted(known))} (throttle)"
            )
    return None
