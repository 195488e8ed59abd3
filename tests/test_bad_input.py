"""Bad input to every ``harness`` command: one line on stderr and exit 2, or
a verdict; never a traceback. One test per case found by the generated
corpus (``tests/test_cli_fuzz.py`` generates the rest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests._cli import Outcome, invoke

REPO = Path(__file__).resolve().parents[1]
HISTORIES = REPO / "fixtures" / "histories"


def harness(*argv: str | Path, cwd: Path | None = None) -> Outcome:
    result = invoke([str(a) for a in argv], cwd=cwd)
    assert result.problem() is None, result.problem()
    return result


def bad_input(*argv: str | Path, says: str = "", cwd: Path | None = None) -> str:
    """Run the command; it must exit 2 with one line on stderr containing ``says``."""
    result = harness(*argv, cwd=cwd)
    assert result.code == 2, (result.code, result.out, result.err)
    assert says in result.err, result.err
    return result.err


def ops(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


# -- names used as keys: process (and correlation id, error) ------------------------


@pytest.mark.parametrize("process", [[1, 2], {"node": 1}, [[1], {"a": [2]}]])
def test_a_process_that_is_a_list_or_an_object_is_read_as_its_json_text(tmp_path: Path, process: Any) -> None:
    h = tmp_path / "h.jsonl"
    h.write_text(
        ops(
            {"index": 0, "process": process, "type": "invoke", "f": "write", "key": "x", "value": 1},
            {"index": 1, "process": process, "type": "ok", "f": "write", "key": "x", "value": 1},
            {"index": 2, "process": 7, "type": "invoke", "f": "read", "key": "x", "error": ["e"]},
            {"index": 3, "process": 7, "type": "ok", "f": "read", "key": "x", "value": 1, "error": {"x": 1}},
        )
    )
    result = harness("check", h)
    assert result.code in (0, 1, 3)
    result = harness("check", h, "--model", "register")
    assert result.code == 0, result.out  # write 1 then read 1: the pairs were made

    from harness.history.jsonl import read_history

    first = read_history(h)[0]
    assert first.process == json.dumps(process, sort_keys=True, separators=(",", ":"))


def test_the_kv_importer_reads_a_vector_or_map_process_and_collection_map_keys(tmp_path: Path) -> None:
    h = tmp_path / "h.edn"
    h.write_text(
        '{:process [1 2], :type :invoke, :f :put, :key "k", :value "v"}\n'
        '{:process [1 2], :type :ok, :f :put, :key "k", :value "v"}\n'
        '{:process {:a 1}, :type :invoke, :f :get, :key "k", :value nil, [1 [2]] 3, {:m 1} 4}\n'
        '{:process {:a 1}, :type :ok, :f :get, :key "k", :value "v"}\n'
    )
    result = harness("check", h, "--format", "kv")
    assert result.code == 0, result.out

    from harness.history.importers import parse_edn

    assert parse_edn("{[1 [2]] 3, {:a 1} 4, [5 6] 7}") == {"[1,[2]]": 3, '{"a":1}': 4, (5, 6): 7}


def test_an_op_built_in_memory_with_a_list_process_is_checked() -> None:
    from harness.checkers import check
    from harness.history.model import Op, pair_operations

    history = [Op(0, 0, [1], "invoke", "write", "x", 1), Op(1, 1, [1], "ok", "write", "x", 1)]  # type: ignore[arg-type]
    assert [p.type for p in pair_operations(history)] == ["ok"]
    assert check(history, ["linearizability"], model="register")[0].valid is True


def test_a_type_that_is_not_a_string_is_a_one_line_error(tmp_path: Path) -> None:
    h = tmp_path / "h.jsonl"
    h.write_text(ops({"index": 0, "process": 1, "type": ["ok"], "f": "read"}))
    bad_input("check", h, says=":1: type must be one of")
    e = tmp_path / "h.edn"
    e.write_text('{:process 1, :type [:ok], :f :get, :key "k", :value nil}\n')
    bad_input("check", e, "--format", "kv", says="unknown operation type")


# -- nesting ----------------------------------------------------------------------


def test_edn_nested_100k_levels_is_a_one_line_error(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    etcd = tmp_path / "etcd.log"
    etcd.write_text(f"INFO  jepsen.util - 0 :invoke :write {deep}\n")
    bad_input("check", etcd, "--format", "etcd", says="nested deeper than 100 levels")
    kv = tmp_path / "kv.edn"
    kv.write_text(f'{{:process 0, :type :invoke, :f :put, :key "k", :value {deep}}}\n')
    bad_input("check", kv, "--format", "kv", says="nested deeper than 100 levels")


@pytest.mark.parametrize("depth", [101, 1000])
def test_json_lines_nested_deeper_than_the_limit_are_a_one_line_error(tmp_path: Path, depth: int) -> None:
    h = tmp_path / "h.jsonl"
    deep = "[" * depth + "]" * depth
    h.write_text(f'{{"index": 0, "process": 1, "type": "invoke", "f": "write", "key": {deep}}}\n')
    bad_input("check", h, says=f"{h}:1: a value nested deeper than 100 levels")
    bad_input("report", h, says="nested deeper than 100 levels")


def test_json_lines_nested_to_the_limit_are_checked(tmp_path: Path) -> None:
    h = tmp_path / "h.jsonl"
    deep = "[" * 100 + "]" * 100
    h.write_text(
        ops({"index": 0, "process": 1, "type": "invoke", "f": "write", "key": "x"})
        + f'{{"index": 1, "process": 1, "type": "ok", "f": "write", "key": "x", "value": {deep}}}\n'
    )
    assert harness("check", h).code in (0, 1, 3)


def test_chaos_judge_of_deeply_nested_json_is_a_one_line_error(tmp_path: Path) -> None:
    j = tmp_path / "journal.json"
    j.write_text("[" * 100_000 + "]" * 100_000)
    bad_input("chaos", "judge", j, says="nested too deeply")
    j.write_text('{"status": "completed", "x": ' + "[" * 500 + "]" * 500 + "}")
    bad_input("chaos", "judge", j, says="nested deeper than 100 levels")


def test_spec_nested_too_deeply_is_a_one_line_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text("[" * 100_000 + "]" * 100_000)
    bad_input("check", HISTORIES / "delivery-ok.jsonl", "--spec", spec, says="nested too deeply")
    toml = tmp_path / "spec.toml"
    toml.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    bad_input("check", HISTORIES / "delivery-ok.jsonl", "--spec", toml, says="nested too deeply")


def test_a_spec_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b"\xff\xfe[delivery]\n")
    bad_input("check", HISTORIES / "delivery-ok.jsonl", "--spec", spec, says=f"spec {spec} is not UTF-8")


def test_a_schema_nested_too_deeply_is_a_one_line_error(tmp_path: Path) -> None:
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    old.write_text('{"type": "string"}')
    new.write_text("[" * 100_000 + "]" * 100_000)
    bad_input("contracts", "diff", old, new, says=f"{new}: not JSON this reader accepts: nested too deeply")
    deep: Any = {"type": "string"}
    for _ in range(200):
        deep = {"not": deep}
    new.write_text(json.dumps(deep))
    bad_input("contracts", "diff", old, new, says="nested deeper than 100 levels")


# -- contracts ----------------------------------------------------------------------


def test_contracts_export_into_an_existing_file_is_a_one_line_error(tmp_path: Path) -> None:
    f = tmp_path / "contracts"
    f.write_text("not a directory")
    bad_input("contracts", "export", "--dir", f, says=f"{f}: not a directory")
    bad_input("contracts", "export", "--dir", f / "sub", says="Not a directory")


def test_contracts_export_check_of_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    bad_input(
        "contracts", "export", "--check", "--dir", tmp_path / "nope", says="no such contracts directory"
    )


def test_contracts_consumers_of_a_missing_directory_or_one_without_consumers_is_bad_input(
    tmp_path: Path,
) -> None:
    bad_input("contracts", "consumers", "--dir", tmp_path / "nope", says="no such contracts directory")
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "order.v1.json").write_text('{"type": "object"}')
    bad_input("contracts", "consumers", "--dir", schemas, says="no consumer declarations")
    assert harness("contracts", "consumers", "--dir", REPO / "contracts").code == 0


def test_contracts_diff_of_large_enums_is_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each value of an enum was compared with every value of the other (jsonschema
    scans the enum list); the count of comparisons, not the time, is asserted."""
    import jsonschema._keywords
    import jsonschema._utils

    n = 3000
    calls = [0]
    equal = jsonschema._utils.equal

    def counting(one: Any, two: Any) -> bool:
        calls[0] += 1
        return equal(one, two)

    monkeypatch.setattr(jsonschema._keywords, "equal", counting)
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    values = [f"v{i}" for i in range(n)]
    old.write_text(json.dumps({"enum": values}))
    new.write_text(json.dumps({"enum": values[1:] + ["extra", 1, None]}))
    result = harness("contracts", "diff", old, new)
    assert result.code == 1 and "enum_value_removed" in result.out and '"v0"' in result.out
    assert calls[0] < 10 * n
    new.write_text(json.dumps({"enum": [*values, "extra"]}))
    assert harness("contracts", "diff", old, new).code == 0
    assert harness("contracts", "diff", old, old).code == 0  # identical schemas stay compatible
    assert calls[0] < 30 * n


def test_draft4_unique_enum_check_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema._keywords

    from harness.contracts.schema import Doc

    calls = [0]
    uniq = jsonschema._keywords.uniq

    def counting(container: Any) -> bool:
        calls[0] += 1
        return uniq(container)

    monkeypatch.setattr(jsonschema._keywords, "uniq", counting)
    mixed: list[Any] = [i if i % 2 else f"s{i}" for i in range(5000)]
    Doc({"$schema": "http://json-schema.org/draft-04/schema#", "enum": mixed})
    assert calls[0] == 0  # the set-based check, not jsonschema's quadratic fallback
    with pytest.raises(Exception, match="non-unique"):
        Doc({"$schema": "http://json-schema.org/draft-04/schema#", "enum": [*mixed, 1]})


# -- command-line values ------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "x"])
def test_check_timeout_must_be_a_positive_finite_number(value: str) -> None:
    bad_input("check", HISTORIES / "delivery-ok.jsonl", "--timeout", value, says="--timeout")


@pytest.mark.parametrize("value", ["-1", "nan", "1.5", "x"])
def test_check_max_witnesses_must_be_zero_or_more(value: str) -> None:
    bad_input("check", HISTORIES / "delivery-ok.jsonl", "--max-witnesses", value, says="--max-witnesses")


def test_check_max_witnesses_zero_and_a_small_timeout_are_accepted() -> None:
    result = harness("check", HISTORIES / "delivery-ok.jsonl", "--max-witnesses", "0", "--timeout", "1e-3")
    assert result.code == 0


@pytest.mark.parametrize(
    ("flag", "value"), [("--examples", "-1"), ("--max-token-ratio", "nan"), ("--max-token-ratio", "0")]
)
def test_contracts_check_numbers_are_checked(flag: str, value: str) -> None:
    bad_input("contracts", "check", "--role", "research", "--candidate", "x:Y", flag, value, says=flag)


@pytest.mark.parametrize("value", ["-1", "43201", "nan"])
def test_deploy_visibility_timeout_is_checked_before_anything_is_deployed(value: str) -> None:
    bad_input("deploy", "--backend", "embedded", "--visibility-timeout", value, says="--visibility-timeout")


def test_deploy_out_is_checked_before_anything_is_deployed(tmp_path: Path) -> None:
    bad_input("deploy", "--backend", "embedded", "--out", tmp_path, says="is a directory")
    bad_input("deploy", "--backend", "embedded", "--out", tmp_path / "no" / "x.json", says="not a directory")


# -- chaos ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("journal", "says"),
    [
        ([], "expected a JSON object"),
        ({}, "no status"),
        ({"status": "completed", "steady_states": []}, "steady_states must be an object"),
        ({"status": "completed", "steady_states": {"before": "yes"}}, "steady_states.before"),
        ({"status": "completed", "steady_states": {"before": {"probes": [1]}}}, "probes must be a list"),
        ({"status": "completed", "run": [{"activity": "x", "status": "failed"}]}, "run[0].activity"),
        ({"status": "failed", "run": [{"status": "failed", "exception": 3}]}, "run[0].exception"),
        ({"status": "completed", "harness": "x"}, "harness must be an object"),
        ({"status": "completed", "experiment": []}, "experiment must be an object"),
    ],
)
def test_chaos_judge_of_a_journal_with_the_wrong_shape_is_a_one_line_error(
    tmp_path: Path, journal: Any, says: str
) -> None:
    j = tmp_path / "journal.json"
    j.write_text(json.dumps(journal))
    err = bad_input("chaos", "judge", j, says=says)
    assert err.startswith(f"harness chaos: error: {j}: not a Chaos Toolkit journal")


def test_chaos_judge_of_a_failed_run_with_an_empty_exception_is_an_error(tmp_path: Path) -> None:
    j = tmp_path / "journal.json"
    j.write_text(json.dumps({"status": "failed", "run": [{"status": "failed", "exception": []}]}))
    result = harness("chaos", "judge", j)
    assert result.code == 2 and "ERROR" in result.out and result.err.startswith("harness chaos: error: ")


def test_chaos_judge_of_an_error_verdict_says_so_on_stderr(tmp_path: Path) -> None:
    j = tmp_path / "journal.json"
    j.write_text(json.dumps({"status": "interrupted"}))
    result = harness("chaos", "judge", j)
    assert result.code == 2 and "the experiment was interrupted" in result.err


def test_chaos_run_without_a_journal_names_the_first_error_of_chaostoolkits_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.chaos.cli as chaos_cli

    def fake(cmd: list[str], env: dict[str, str]) -> int:
        log = Path(cmd[cmd.index("--log-file") + 1])
        log.write_text(
            "\x1b[32m[2026-01-01 00:00:00 INFO] [run:150]\x1b[39m Validating the experiment's syntax\n"
            "[2026-01-01 00:00:00 ERROR] [run:188] The python module 'harness.chaos.actions' does not "
            "expose a function called 'no_such' in action 'x'\n"
            "[2026-01-01 00:00:00 ERROR] [run:190] a later error\n"
        )
        return 1

    monkeypatch.setattr(chaos_cli, "_call", fake)
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps({"title": "t", "description": "d", "method": []}))
    err = bad_input("chaos", "run", exp, "--out", tmp_path / "out", says="wrote no journal: ")
    assert "does not expose a function called 'no_such' in action 'x'" in err and "later" not in err


@pytest.mark.slow
def test_chaos_run_of_an_experiment_naming_a_missing_action_names_it(tmp_path: Path) -> None:
    exp = tmp_path / "exp.json"
    action = {"type": "python", "module": "harness.chaos.actions", "func": "no_such_action"}
    exp.write_text(
        json.dumps(
            {
                "title": "t",
                "description": "d",
                "method": [{"type": "action", "name": "missing", "provider": action}],
            }
        )
    )
    result = invoke(["chaos", "run", str(exp), "--out", str(tmp_path / "out")], bound=300)
    assert result.code == 2 and result.traceback is None
    last = result.err.splitlines()[-1]  # Chaos Toolkit's own log precedes it on stderr
    assert "wrote no journal" in last and "no_such_action" in last and "missing" in last, last


def test_chaos_run_into_an_out_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps({"title": "t", "description": "d", "method": []}))
    f = tmp_path / "file"
    f.write_text("")
    bad_input("chaos", "run", exp, "--out", f, says="cannot create the directory")


# -- report and the top-level command -------------------------------------------------


def test_report_exits_1_on_a_violation_and_0_otherwise(tmp_path: Path) -> None:
    result = harness("report", HISTORIES / "lost-update-repeat-bad.jsonl", "--out", tmp_path / "r.html")
    assert result.code == 1 and (tmp_path / "r.html").exists()
    assert harness("report", HISTORIES / "lost-update-ok.jsonl", "--out", tmp_path / "s.html").code == 0


def test_report_of_an_empty_history_is_accepted(tmp_path: Path) -> None:
    h = tmp_path / "history.jsonl"
    h.write_text("")
    assert harness("report", h).code == 0
    assert harness("check", h).code in (0, 3)


def test_report_out_that_is_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    bad_input("report", HISTORIES / "lost-update-ok.jsonl", "--out", tmp_path, says="is a directory")


def test_version() -> None:
    from importlib.metadata import version

    result = harness("--version")
    assert result.code == 0 and result.out.strip() == f"harness {version('mas-harness')}"


# -- found by the fuzz test ----------------------------------------------------------


def test_a_correlation_id_or_error_that_is_not_a_string_is_read_as_its_json_text(tmp_path: Path) -> None:
    h = tmp_path / "history.jsonl"
    h.write_text(
        ops(
            {"index": 0, "process": 0, "type": "invoke", "f": "read", "correlation_id": True},
            {"index": 1, "process": 0, "type": "fail", "f": "read", "correlation_id": 7, "error": [1]},
        )
    )
    assert harness("report", h).code == 0
    from harness.history.jsonl import read_history

    assert [(o.correlation_id, o.error) for o in read_history(h)] == [("true", None), ("7", "[1]")]


@pytest.mark.parametrize(
    "sub",
    [{"minItems": None}, {"type": "foo"}, {"multipleOf": 0}, {"required": [1]}, {"type": [["x"]]}, 3],
)
def test_a_keyword_the_meta_schema_does_not_reach_is_still_checked(tmp_path: Path, sub: Any) -> None:
    """``prefixItems`` is unknown to draft 7, so its meta-schema checks nothing
    below it; the comparison reads it all the same."""
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    old.write_text("{}")
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "prefixItems": [sub]}
    new.write_text(json.dumps(schema))
    bad_input("contracts", "diff", old, new, says=f"{new}: not a valid JSON Schema at prefixItems/0")
