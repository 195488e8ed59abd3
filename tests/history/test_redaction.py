"""No secret in a record: the redactor on a corpus of secrets and of ordinary
values, every path a value takes into ``history.jsonl`` and ``report.html``,
checkers' verdicts before and after redaction, and the leakage auditor on
redacted outputs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.audit import audit_history
from harness.audit.auditors import LeakageAuditor
from harness.backends import Endpoints
from harness.checkers import check_idempotency, check_lost_update
from harness.history.jsonl import read_history, write_history
from harness.history.model import OK, Op
from harness.history.recorder import Recorder
from harness.instrument import correlation
from harness.instrument.effects import Effects
from harness.redaction import (
    MARKER,
    PERSONAL_RULES,
    SECRET_RULES,
    RedactionSettings,
    Redactor,
    fingerprint,
    from_settings,
    redaction_settings,
)
from harness.report import build_report, write_report
from tests.audit.conftest import make_world
from tests.history.secret_corpus import CORPUS, ORDINARY, PERSONAL, leaks_in

R = Redactor()
IDS = [f"{s.kind}-{i}" for i, s in enumerate(CORPUS)]


# -- the redactor -------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", CORPUS, ids=IDS)
def test_every_secret_is_replaced_by_a_marker_of_its_kind(secret: Any) -> None:
    out = R.text(secret.text)
    assert not [leak for leak in secret.leaks if leak in out], out
    assert secret.kind in [m["kind"] for m in MARKER.finditer(out)], out
    assert R.text(out) == out  # redacting twice changes nothing more


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_values_are_left_alone(text: str) -> None:
    assert R.text(text) is text


def test_only_the_secret_is_replaced_and_its_public_prefix_kept() -> None:
    out = R.text("key AKIAIOSFODNN7EXAMPLE, bearer of news")
    assert (
        out == f"key AKIA…[redacted:aws_access_key_id:{fingerprint('AKIAIOSFODNN7EXAMPLE')}], bearer of news"
    )
    assert R.text("url postgres://admin:S3cr3tPassw0rd@db:5432/app").startswith(
        "url postgres://admin:[redacted:"
    )
    assert R.text("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z").startswith("sk-proj-…[redacted:openai_api_key:")


def test_the_fingerprint_is_stable_across_runs_and_tells_secrets_apart() -> None:
    # A fixed key: the same marker in every run, on every machine.
    assert fingerprint("AKIAIOSFODNN7EXAMPLE") == "kbvn5gttff"
    assert Redactor().text("AKIAIOSFODNN7EXAMPLE") == R.text("AKIAIOSFODNN7EXAMPLE")
    marks = {R.text(s.text) for s in CORPUS}
    assert len(marks) == len(CORPUS)
    other = Redactor(key="another key")
    assert other.text("AKIAIOSFODNN7EXAMPLE") != R.text("AKIAIOSFODNN7EXAMPLE")
    # base32: never all digits, so a number-reading auditor sees no number in a marker
    assert all(MARKER.fullmatch(f"[redacted:x:{fingerprint(str(i))}]") for i in range(200))


def test_a_value_keeps_its_shape_and_the_callers_object_is_not_changed() -> None:
    item = {
        "pk": "user#1",
        "version": 3,
        "ratio": 0.5,
        "active": True,
        "none": None,
        "notes": ["fine", "key AKIAIOSFODNN7EXAMPLE"],
        "nested": {"url": "postgres://admin:S3cr3tPassw0rd@db/app", "tags": ("a", "b")},
        "password": "hunter2",
        "apiKey": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "X-Api-Key": 12345,
    }
    before = copy.deepcopy(item)
    out = R.value(item)
    assert item == before
    assert list(out) == list(item)
    assert {k: out[k] for k in ("pk", "version", "ratio", "active", "none", "X-Api-Key")} == {
        k: item[k] for k in ("pk", "version", "ratio", "active", "none", "X-Api-Key")
    }
    assert out["notes"][0] == "fine" and len(out["notes"]) == 2 and "AKIA…[redacted:" in out["notes"][1]
    assert out["nested"]["tags"] == ("a", "b")
    assert MARKER.fullmatch(out["password"])["kind"] == "secret_field"  # a field name is enough
    assert out["apiKey"].startswith("sk_live_…[redacted:stripe_key:")  # its kind, when it shows one
    assert not leaks_in(repr(out)) and "hunter2" not in repr(out)
    assert R.value(out) == out  # redacting twice changes nothing more


def test_a_value_without_secrets_is_given_back_as_is() -> None:
    value = {"task_id": "t1", "messages": [{"sqs_id": "6f1e2d3c", "receive_count": 2}], "ids": ORDINARY}
    assert R.value(value) is value


def test_personal_data_is_redacted_only_when_asked() -> None:
    personal = from_settings(RedactionSettings(personal=True))
    for kind, text, data in PERSONAL:
        assert R.text(text) == text
        out = personal.text(text)
        assert data not in out and f"[redacted:{kind}:" in out, out


def test_settings_add_patterns_and_fields_and_can_turn_redaction_off() -> None:
    env = {
        "HARNESS_REDACT_PATTERNS": "employee_id=EMP-\\d{6}\nACME-[A-Z]{8}",
        "HARNESS_REDACT_FIELDS": "pin, recovery_code",
    }
    r = from_settings(redaction_settings(env))
    assert r.text("badge EMP-123456") == f"badge [redacted:employee_id:{fingerprint('EMP-123456')}]"
    assert r.text("code ACME-ABCDEFGH").startswith("code [redacted:custom:")
    assert r.value({"pin": "0000", "recoveryCode": "x"})["recoveryCode"].startswith("[redacted:secret_field:")
    assert r.text("key AKIAIOSFODNN7EXAMPLE") != "key AKIAIOSFODNN7EXAMPLE"  # the defaults stay
    off = from_settings(redaction_settings({"HARNESS_REDACT": "0"}))
    assert off.text("key AKIAIOSFODNN7EXAMPLE") == "key AKIAIOSFODNN7EXAMPLE"
    with pytest.raises(ValueError, match="redaction pattern"):
        from_settings(redaction_settings({"HARNESS_REDACT_PATTERNS": "bad=("}))
    assert RedactionSettings(personal=True, fields=("pin",)).to_env()["HARNESS_REDACT_FIELDS"] == "pin"


# -- every path into a history ---------------------------------------------------------------


def _record_everything(ep: Endpoints, rec: Recorder, name: str = "items") -> None:
    """Secrets through each way a value reaches the history: DynamoDB items
    and keys, message attributes, correlation ids, effects, model output,
    errors."""
    s = harness.session(ep, "writer", rec)
    ddb = s.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i, secret in enumerate(CORPUS):
        pk = f"user#{i}#{secret.text}" if i % 2 else f"user#{i}"
        ddb.put_item(
            TableName=name,
            Item={"pk": {"S": pk}, "note": {"S": secret.text}, "version": {"N": "1"}},
        )
        ddb.get_item(TableName=name, Key={"pk": {"S": pk}}, ConsistentRead=True)
    ddb.get_item(TableName=name, Key={"pk": {"S": "user#1#" + CORPUS[1].text}})
    sqs = s.client("sqs")
    q = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    # correlation ids travel as message attributes and come back on receive
    for i, secret in enumerate(CORPUS):
        with correlation(f"task-{i} {secret.text}"):
            sqs.send_message(
                QueueUrl=q, MessageBody="hello", MessageGroupId=f"g{i}", MessageDeduplicationId=f"d{i}"
            )
    # FIFO group and deduplication ids are recorded too
    with correlation("task-x"):
        sqs.send_message(
            QueueUrl=q,
            MessageBody="hello",
            MessageGroupId="sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            MessageDeduplicationId="ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        )
    for _ in range(5):
        sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)
    fx = Effects(rec, "writer")
    for i, secret in enumerate(CORPUS):
        fx.perform("notify", f"notify/{i}", value={"body": secret.text})
        fx.note(
            "agent.output",
            f"t{i}/write/0",
            {"task_id": f"t{i}", "capability": "write", "output": {"title": secret.text}},
        )
        fx.run("model.complete", f"t{i}/write/0", lambda s=secret: s.text, result=lambda out: {"text": out})

        def boom(s: Any = secret) -> None:
            raise RuntimeError(f"upstream said: {s.text}")

        with pytest.raises(RuntimeError):
            fx.run("effect.charge", f"charge/{i}", boom)
        rec.record("writer", "fail", "tool.call", f"tool/{i}", None, error=f"RuntimeError: {secret.text}")


def test_no_secret_reaches_the_history_file_or_the_report(endpoints: Endpoints, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    with Recorder(path) as rec:
        _record_everything(endpoints, rec)
    data = path.read_text(encoding="utf-8")
    assert leaks_in(data) == []
    assert leaks_in(repr(rec.ops)) == []
    kinds = {m["kind"] for m in MARKER.finditer(data)}
    assert {s.kind for s in CORPUS} <= kinds
    # the control: without redaction the same run leaks every secret
    raw = Recorder(redactor=Redactor.off())
    _record_everything(endpoints, raw, "raw")
    assert {leak for s in CORPUS for leak in s.leaks} == set(leaks_in(repr(raw.ops)))

    html = build_report(path).read_text(encoding="utf-8")
    assert leaks_in(html) == []
    assert "[redacted:" in html


def test_the_report_redacts_a_history_recorded_elsewhere(tmp_path: Path) -> None:
    ops: list[Op] = []
    for i, secret in enumerate(CORPUS):
        ops.append(Op(2 * i, i, "w", "invoke", "effect.charge", f"charge/{secret.text}", {"v": secret.text}))
        ops.append(
            Op(2 * i + 1, i, "w", "info", "effect.charge", f"charge/{secret.text}", None, error=secret.text)
        )
    write_history(ops, tmp_path / "history.jsonl")
    html = build_report(tmp_path / "history.jsonl").read_text(encoding="utf-8")
    assert leaks_in(html) == []
    from harness.checkers import Anomaly, Verdict

    verdict = Verdict(
        "x", False, (Anomaly("k", (0,), f"saw {CORPUS[0].text}", key=CORPUS[1].text),), {"s": CORPUS[2].text}
    )
    out = write_report(ops, [verdict], tmp_path / "r.html", title="t", source="s")
    assert leaks_in(out.read_text(encoding="utf-8")) == []


# -- checkers give the same verdicts on a redacted history ---------------------------------------


def _effects_and_items(ep: Endpoints, rec: Recorder, table: str) -> list[Op]:
    fx = Effects(rec, "payer")
    token_a, token_b = "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_9xY8wV7uT6sR5qP4oN3mL2kJ"
    fx.perform("charge", f"charge/{token_a}")
    fx.perform("charge", f"charge/{token_a}")  # a duplicate: same key twice
    fx.perform("charge", f"charge/{token_b}")
    fx.perform("charge", "charge/plain-key")
    ddb = harness.session(ep, "db", rec).client("dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in (f"user#{token_a}", f"user#{token_b}", "user#plain"):
        ddb.put_item(
            TableName=table, Item={"pk": {"S": pk}, "version": {"N": "1"}, "api_key": {"S": token_a}}
        )
    # two unconditional writes of version 1 to the same item: a lost update
    ddb.put_item(TableName=table, Item={"pk": {"S": f"user#{token_a}"}, "version": {"N": "1"}})
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": f"user#{token_b}"}, "version": {"N": "2"}},
        ConditionExpression="version = :expected_version",
        ExpressionAttributeValues={":expected_version": {"N": "1"}},
    )
    return rec.ops


def _shape(v: Any) -> tuple[Any, ...]:
    return (v.valid, sorted((a.kind, a.ops, a.severity) for a in v.anomalies))


def test_checkers_give_the_same_verdicts_before_and_after_redaction(endpoints: Endpoints) -> None:
    raw = _effects_and_items(endpoints, Recorder(redactor=Redactor.off()), "acct-raw")
    red = _effects_and_items(endpoints, Recorder(), "acct-red")
    assert leaks_in(repr(raw)) and not leaks_in(repr(red)) and "4eC39Hq" not in repr(red)
    assert [(o.type, o.f) for o in raw] == [(o.type, o.f) for o in red]
    for check in (check_idempotency, check_lost_update):
        before, after = check(raw), check(red)
        assert _shape(before) == _shape(after), check.__name__
        assert before.valid is False
    dup = [a for a in check_idempotency(red).anomalies if a.kind == "duplicate_effect"]
    assert len(dup) == 1 and "stripe_key" in str(dup[0].key)
    lost = {a.kind for a in check_lost_update(red).anomalies}
    assert "version_repeat" in lost


# -- the leakage auditor on redacted outputs ------------------------------------------------------


def _output_ops(rec: Recorder) -> list[Op]:
    for i, secret in enumerate(CORPUS):
        rec.record("w", "invoke", "agent.output", f"t{i}/write/0", None)
        value = {"task_id": f"t{i}", "capability": "write", "output": {"title": "brief", "note": secret.text}}
        rec.record("w", OK, "agent.output", f"t{i}/write/0", value, agent="write-1")
    return rec.ops


def test_the_auditor_flags_a_secret_in_a_redacted_output_as_the_secret_it_was() -> None:
    raw = audit_history(_output_ops(Recorder(redactor=Redactor.off())), [LeakageAuditor()])
    red_ops = _output_ops(Recorder())
    assert not leaks_in(repr(red_ops))
    red = audit_history(red_ops, [LeakageAuditor()])
    secret_kinds = {r.kind for r in SECRET_RULES}

    def kinds(found: list[Any]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for f in found:
            if f.kind in secret_kinds and f.severity == "error":
                out.setdefault(f.subject, set()).add(f.kind)
        return out

    assert kinds(red) == kinds(raw)
    assert set(kinds(red)) == {f"t{i}/write/0" for i in range(len(CORPUS))}
    assert not leaks_in(repr([f.to_value() for f in red]))
    assert all("(redacted when recorded)" in f.message for f in red)


def test_the_auditor_flags_bare_provider_tokens() -> None:
    from harness.audit.world import AgentOutput

    auditor = LeakageAuditor()
    for secret in CORPUS:
        out = AgentOutput("t/write/0", "t", "write", {"title": secret.text}, op=1)
        found = auditor.audit(out, make_world())
        assert secret.kind in {f.kind for f in found}, secret
        assert all(f.severity == "error" for f in found)
        assert not leaks_in(repr([f.to_value() for f in found]))
    clean = AgentOutput("t/write/0", "t", "write", {"lines": list(ORDINARY[:-1])}, op=1)
    assert auditor.audit(clean, make_world()) == []


def test_the_auditor_and_the_redactor_share_their_rules() -> None:
    from harness.audit.auditors import PATTERNS

    assert set(SECRET_RULES) | set(PERSONAL_RULES) == set(PATTERNS)
    assert set(R.rules) == set(SECRET_RULES)


def test_a_history_read_back_is_redacted_the_same(endpoints: Endpoints, tmp_path: Path) -> None:
    with Recorder(tmp_path / "h.jsonl") as rec:
        _record_everything(endpoints, rec)
    back = read_history(tmp_path / "h.jsonl")
    assert [R.op(op) for op in back] == back  # nothing left to redact
