"""Make moto's per-request bookkeeping cheaper, without changing an answer.

Measured here (moto 5.2, ``make bench``'s profile of a simulated example):
for every request moto turns the action's name into a method name with
``camelcase_to_underscores`` and lists its response class's methods with
``inspect.getmembers``; for every SQS request it turns each of the queue's
attribute names the same way. Together they were about a tenth of a
simulated run's CPU time. Both are pure: the same string gives the same
name, and a response class's methods do not change while moto runs. So
while an embedded backend is open, both are memoised (the class listing per
class, forgotten when the backend closes).

DynamoDB's ``UpdateItem`` parses its ``UpdateExpression`` twice per request
(about 3% of the run). The tree parsed is only read (its placeholders are
listed) or deep-copied before it is worked on (moto's validators copy it
first), so one tree per expression string is parsed and shared.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from harness.backends._patch import patched


def _memo_names(original: Callable[[str], str]) -> Callable[[str], str]:
    return functools.lru_cache(maxsize=4096)(original)


def _memo_methods(original: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    cache: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = cache.get(clazz)
        if names is None:
            names = cache[clazz] = original(clazz)
        return list(names)

    return method_names_from_class


def _memo_parser(original: type) -> type:
    parse = functools.lru_cache(maxsize=1024)(original.make)  # type: ignore[attr-defined]

    class UpdateExpressionParser(original):  # type: ignore[misc, valid-type]
        @classmethod
        def make(cls, expression_str: str) -> Any:
            return parse(expression_str)

    return UpdateExpressionParser


@contextmanager
def cheaper_requests() -> Iterator[None]:
    """Memoise moto's name conversions and method listings while open."""
    import moto.core.responses as responses
    import moto.dynamodb.models as dynamodb_models
    import moto.dynamodb.responses as dynamodb_responses
    import moto.sns.responses as sns_responses
    import moto.sqs.models as sqs_models

    owners: list[tuple[Any, str, Callable[[Any], Any]]] = [
        (responses, "camelcase_to_underscores", _memo_names),
        (sqs_models, "camelcase_to_underscores", _memo_names),
        (sns_responses, "camelcase_to_underscores", _memo_names),
        (responses, "method_names_from_class", _memo_methods),
        (dynamodb_models, "UpdateExpressionParser", _memo_parser),
        (dynamodb_responses, "UpdateExpressionParser", _memo_parser),
    ]
    with ExitStack() as stack:
        for owner, name, wrap in owners:
            if callable(getattr(owner, name, None)):  # a name a later moto dropped stays as it is
                stack.enter_context(patched(owner, name, wrap))
        yield


__all__ = ["cheaper_requests"]
