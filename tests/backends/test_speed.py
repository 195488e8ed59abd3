"""Memoising moto's per-request bookkeeping changes no answer: the memoised
functions give what moto's own give, are put back when the backend closes,
and a simulated run's history is the same with or without them."""

from __future__ import annotations

import hashlib
import sys
from contextlib import nullcontext

import moto.core.responses as responses
import moto.sqs.models as sqs_models
import pytest
from moto.core import utils
from moto.sqs.responses import SQSResponse

from harness.backends import embedded
from harness.history.jsonl import dumps_op
from harness.sim.case import Case

NAMES = ["ReceiveMessage", "GetItem", "ApproximateNumberOfMessagesNotVisible", "KmsMasterKeyId", "x", ""]


def test_memoised_while_open_and_the_same_answers() -> None:
    with embedded("inprocess"):
        assert responses.camelcase_to_underscores is not utils.camelcase_to_underscores
        for name in NAMES * 2:
            assert responses.camelcase_to_underscores(name) == utils.camelcase_to_underscores(name)
            assert sqs_models.camelcase_to_underscores(name) == utils.camelcase_to_underscores(name)
        first = responses.method_names_from_class(SQSResponse)
        assert first == utils.method_names_from_class(SQSResponse)
        first.append("mutated by a caller")
        assert responses.method_names_from_class(SQSResponse) == utils.method_names_from_class(SQSResponse)
    assert responses.camelcase_to_underscores is utils.camelcase_to_underscores
    assert responses.method_names_from_class is utils.method_names_from_class
    assert sqs_models.camelcase_to_underscores is utils.camelcase_to_underscores


def _digest(case: Case) -> str:
    result, _ = case.run()
    return hashlib.sha256(b"".join(dumps_op(op) for op in result.ops)).hexdigest()


def test_a_run_is_the_same_without_them(monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case.of(2, [{"request_id": "r0", "token_budget": 4000, "topic": "tides"}])
    with_memo = _digest(case)
    monkeypatch.setattr(sys.modules["harness.backends.embedded"], "cheaper_requests", nullcontext)
    assert _digest(case) == with_memo


def _tree(node: object) -> object:
    kids = getattr(node, "children", None)
    if not isinstance(kids, list | tuple):
        return (type(node).__name__, str(node))
    return (type(node).__name__, [_tree(k) for k in kids])


def test_update_expressions_parsed_once_and_still_refused_when_wrong() -> None:
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with embedded("inprocess"):
        memo = dynamodb_models.UpdateExpressionParser
        assert memo is not UpdateExpressionParser
        tree = memo.make("SET #s = :s, version = version + :one")
        assert memo.make("SET #s = :s, version = version + :one") is tree
        assert _tree(tree) == _tree(UpdateExpressionParser.make("SET #s = :s, version = version + :one"))
        for _ in range(2):  # a refusal is not remembered as an answer
            with pytest.raises(Exception, match="Invalid UpdateExpression"):
                memo.make("SET = :s")
    assert dynamodb_models.UpdateExpressionParser is UpdateExpressionParser
