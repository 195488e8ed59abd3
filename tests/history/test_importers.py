"""Importers for the Jepsen formats, format detection and the EDN reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.history.importers import detect_format, load_history, parse_edn, read_etcd_log, read_kv_log
from harness.history.jsonl import HistoryFormatError, read_history, write_history
from harness.history.model import Op, pair_operations

ETCD = """\
2016-01-01 INFO  jepsen.core - some noise
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]
INFO  jepsen.util - 0\t:ok\t:read\t3
INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]
INFO  jepsen.util - 2\t:invoke\t:write\t4
INFO  jepsen.util - 2\t:info\t:write\t:timed-out
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:fail\t:read\t:timed-out
"""

KV = """\
{:process 0, :type :invoke, :f :append, :key "1", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "1", :value nil}
{:process 0, :type :ok, :f :append, :key "1", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "1", :value "x 0 0 y"}
"""


def test_etcd_log(tmp_path: Path) -> None:
    p = tmp_path / "etcd_000.log"
    p.write_text(ETCD)
    ops = read_etcd_log(p)
    assert [(o.process, o.type, o.f, o.value, o.error) for o in ops] == [
        (0, "invoke", "read", None, None),
        (1, "invoke", "cas", [3, 0], None),
        (0, "ok", "read", 3, None),
        (1, "fail", "cas", [3, 0], None),
        (2, "invoke", "write", 4, None),
        (2, "info", "write", None, "timed-out"),
        (3, "invoke", "read", None, None),
        (3, "fail", "read", None, "timed-out"),
    ]
    assert [o.index for o in ops] == list(range(8))
    assert detect_format(p) == "etcd"
    assert [pair.type for pair in pair_operations(ops)] == ["ok", "fail", "info", "fail"]


def test_kv_log(tmp_path: Path) -> None:
    p = tmp_path / "c01-ok.txt"
    p.write_text(KV)
    ops = read_kv_log(p)
    assert [(o.process, o.type, o.f, o.key, o.value) for o in ops] == [
        (0, "invoke", "append", "1", "x 0 0 y"),
        (1, "invoke", "get", "1", None),
        (0, "ok", "append", "1", "x 0 0 y"),
        (1, "ok", "get", "1", "x 0 0 y"),
    ]
    assert detect_format(p) == "kv"
    assert load_history(p) == ops


def test_kv_log_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text(KV + '{:process 2, :type :invoke, :f :get, :key "1", :value nil\n')
    with pytest.raises(HistoryFormatError, match=r"bad.txt:5"):
        read_kv_log(p)
    p.write_text("{:process 2, :type :weird, :f :get}\n")
    with pytest.raises(HistoryFormatError, match=r"bad.txt:1: unknown operation type"):
        read_kv_log(p)


def test_edn() -> None:
    assert parse_edn('{:a 1, :b [1 2.5 "x\\"y"], :c nil, :d true, :e #{1}}') == {
        "a": 1,
        "b": [1, 2.5, 'x"y'],
        "c": None,
        "d": True,
        "e": [1],
    }
    assert parse_edn(":ok") == "ok"
    for bad in ("{:a 1", "[1 2}", "{:a}", "1 2", ")"):
        with pytest.raises(ValueError):
            parse_edn(bad)


def test_load_history_jsonl_and_unknown_format(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    ops = [
        Op(0, 0, "p", "invoke", "write", "x", 1),
        Op(1, 5, "p", "ok", "write", "x", 1, meta={"agent": "a"}),
    ]
    write_history(ops, p)
    assert detect_format(p) == "jsonl"
    assert load_history(p) == ops
    with pytest.raises(ValueError, match="unknown history format"):
        load_history(p, "xml")


def test_jsonl_round_trip_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    ops = [
        Op(
            i,
            i * 10,
            f"p{i % 2}",
            "invoke" if i % 2 == 0 else "ok",
            "effect.x",
            f"k{i}",
            {"n": i},
            correlation_id="c",
            meta={"agent": "a"},
        )
        for i in range(6)
    ]
    assert write_history(ops, p) == 6
    assert read_history(p) == ops
    p.write_text(
        '{"index": 0, "process": 1, "type": "invoke", "f": "x"}\n\n{"index": 1, "process": 1, "type": "bogus", "f": "x"}\n'
    )
    with pytest.raises(HistoryFormatError, match=r"h.jsonl:3: type must be"):
        read_history(p)
    p.write_text("[1, 2]\n")
    with pytest.raises(HistoryFormatError, match=r"h.jsonl:1: expected a JSON object"):
        read_history(p)
