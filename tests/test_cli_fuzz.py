"""Fuzzing every ``harness`` entry point with generated files and flags.

Each test generates one kind of input (histories in the three formats, spec
files, schemas, registries, journals, experiments, fault plans, command-line
values and paths) and runs the command in-process (:func:`tests._cli.invoke`).
For every input the command must keep its promise: exit 2 with exactly one
line on stderr, or a verdict with nothing on stderr; never a traceback, never
a hang past the bound. Valid edge cases (an empty history, identical schemas,
a plan without faults) are among the inputs and must stay accepted.

Runs are repeatable (``derandomize``) and small; ``HARNESS_FUZZ_SCALE=10``
runs ten times as many examples, ``HARNESS_FUZZ_LOG=FILE`` writes each
input's exit status and error line to FILE, ``HARNESS_FUZZ_EXPLORE=1``
draws new inputs each run (``--hypothesis-seed`` picks them). The counts per entry point (inputs tried,
tracebacks, hangs, exit statuses) are printed at the end of the module.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checkers.registry import STREAMING
from tests._cli import Outcome, invoke

REPO = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("HARNESS_FUZZ_SCALE", "1"))
COUNTS: dict[str, Counter[str]] = defaultdict(Counter)
LOG = os.environ.get("HARNESS_FUZZ_LOG")


def fuzz(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=not os.environ.get("HARNESS_FUZZ_EXPLORE"),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        _write_counts(tr)


def _write_counts(tr: Any) -> None:
    tr.write_line("")
    tr.write_line("harness CLI fuzz: inputs tried, tracebacks, hangs, exit statuses per entry point")
    for entry, c in sorted(COUNTS.items()):
        exits = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k.startswith("exit"))
        tr.write_line(
            f"  {entry:<22} inputs {c['inputs']:>4}  tracebacks {c['tracebacks']}  hangs {c['hangs']}  ({exits})"
        )


def run(entry: str, argv: list[str], cwd: Path | None = None) -> Outcome:
    """Run ``harness ARGV``, count it under ``entry`` and assert the promise."""
    result = invoke(argv, cwd=cwd)
    c = COUNTS[entry]
    c["inputs"] += 1
    c["tracebacks"] += result.traceback is not None
    c["hangs"] += result.hung
    c[f"exit {result.code}"] += 1
    if LOG:  # HARNESS_FUZZ_LOG=FILE: one line per input, to see what the inputs reach
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps([entry, result.code, result.err.strip()[:160]]) + "\n")
    problem = result.problem()
    assert problem is None, f"harness {' '.join(argv)}: {problem}"
    return result


@pytest.fixture
def workdir() -> Iterator[Callable[[], Any]]:
    """A fresh directory per example (Hypothesis reuses the test's fixtures)."""
    made: list[tempfile.TemporaryDirectory[str]] = []

    def fresh() -> Path:
        made.append(tempfile.TemporaryDirectory(prefix="harness-fuzz-"))
        return Path(made[-1].name)

    yield fresh
    for d in made:
        d.cleanup()


# -- values ------------------------------------------------------------------------


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] | None = None, odds: int = 4) -> Any:
    """``good`` about ``odds`` times in ``odds + 1``, else ``bad`` (any JSON
    value): inputs with one wrong part, so a command gets past its first check.
    (Hypothesis favours no branch of ``one_of`` by weight, so the choice is
    made by coin flips: ``bad`` only when all of them come up heads.)"""
    flips = max(1, round(math.log2(odds + 1)))
    alternative = bad if bad is not None else JSON

    @st.composite
    def pick(draw: Any) -> Any:
        if not all(draw(st.booleans()) for _ in range(flips)):
            return draw(good)
        return draw(alternative)

    return pick()


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
JSON = st.recursive(
    SCALARS,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=6,
)
DEPTHS = st.sampled_from([2, 99, 100, 101, 1000, 1100, 100_000])


def nested_list(n: int) -> str:
    return "[" * n + "]" * n


def nested_object(n: int) -> str:
    return '{"a":' * n + "1" + "}" * n


DEEP_JSON = st.one_of(DEPTHS.map(nested_list), DEPTHS.map(nested_object))
JUNK = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["", "\n", "null", "[]", "{}", "{", '"x"', "1e999", "NaN", "9" * 5000]),
)
#: Values of numeric flags: zero, negatives, nan, inf, huge, fractions, junk.
NUMBERS = st.sampled_from(
    ["0", "-1", "1", "2", "30", "0.5", "1e-9", "1e400", "nan", "inf", "-inf", "x", "", "1_0"]
)


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


PATH_KINDS = mostly(st.just("file"), st.sampled_from(["missing", "directory", "under-a-file"]), odds=8)


def place(kind: str, d: Path, name: str, text: str) -> Path:
    """A path of the given kind for a file argument: the file, or a missing
    path, a directory, a path under a regular file."""
    if kind == "file":
        return write(d / name, text)
    if kind == "missing":
        return d / "missing" / name
    if kind == "directory":
        (d / name).mkdir(exist_ok=True)
        return d / name
    write(d / "plain", "x")
    return d / "plain" / name


# -- histories -----------------------------------------------------------------------

F_NAMES = [
    "read",
    "write",
    "cas",
    "get",
    "put",
    "append",
    "sqs.SendMessage",
    "sqs.SendMessageBatch",
    "sqs.ReceiveMessage",
    "sqs.DeleteMessage",
    "sqs.DeleteMessageBatch",
    "sns.Publish",
    "dynamodb.PutItem",
    "dynamodb.UpdateItem",
    "dynamodb.GetItem",
    "effect.charge",
    "state.transition",
    "task.submit",
    "task.state",
    "message.apply",
    "model.complete",
    "budget.allocate",
    "audit.finding",
]
VALUE_KEYS = [
    "message_id",
    "sqs_id",
    "group",
    "dedup",
    "messages",
    "receive_count",
    "entries",
    "item",
    "update",
    "condition",
    "expect_version",
    "version",
    "consistent",
    "from",
    "to",
    "state",
    "budget",
    "input_tokens",
    "output_tokens",
    "max_tokens",
    "task_id",
    "severity",
    "auditor",
]
META_KEYS = ["agent", "operation", "attempt", "service", "session", "message_id"]
TYPES = ["invoke", "ok", "fail", "info"]
VALUE = st.one_of(
    JSON,
    st.dictionaries(
        st.sampled_from(VALUE_KEYS),
        JSON | st.lists(st.dictionaries(st.sampled_from(VALUE_KEYS), JSON)),
        max_size=4,
    ),
)
OP = st.fixed_dictionaries(
    {
        "index": mostly(st.integers(0, 20), odds=12),
        "process": mostly(st.integers(0, 3) | st.sampled_from(["p1", "p2"]), odds=8),
        "type": mostly(st.sampled_from(TYPES), odds=12),
        "f": mostly(st.sampled_from(F_NAMES), odds=12),
    },
    optional={
        "time": mostly(st.integers(0, 10**12), odds=12),
        "key": mostly(st.sampled_from(["x", "y", "q.fifo", "t/1"])),
        "value": VALUE,
        "correlation_id": mostly(st.sampled_from(["c1", "c2"])),
        "error": mostly(st.sampled_from(["timeout", "ConditionalCheckFailedException"])),
        **{k: mostly(st.sampled_from(["a1", "a2", "1"]), odds=2) for k in META_KEYS},
    },
).map(lambda d: d if len(d) > 2 else {k: v for k, v in d.items() if k != "index"})
JSONL_LINE = mostly(
    OP.map(dumps),
    st.one_of(
        DEEP_JSON.map(
            lambda deep: '{"index": 0, "process": 1, "type": "invoke", "f": "write", "value": ' + deep + "}"
        ),
        JSON.map(dumps),
        JUNK,
    ),
    odds=16,
)
JSONL = st.lists(JSONL_LINE, max_size=10).map(lambda lines: "\n".join(lines) + ("\n" if lines else ""))


def edn(v: Any) -> str:
    """A JSON value written as EDN (object keys as keywords where they can be)."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + " ".join(edn(x) for x in v) + "]"
    return (
        "{"
        + ", ".join(f"{':' + k if k.isidentifier() else json.dumps(k)} {edn(x)}" for k, x in v.items())
        + "}"
    )


EDN_TOKENS = ["[", "]", "{", "}", "(", ")", "#{", "nil", "true", ":k", ":timed-out", '"s"', '"\\"', "1", "-2"]
EDN_TOKENS += ["3.5", "1N", "2M", "nan", "inf", ",", "sym", "#", "\\", "9" * 5000]
EDN_SOUP = st.lists(st.sampled_from(EDN_TOKENS), max_size=10).map(" ".join)
EDN = st.one_of(JSON.map(edn), JSON.map(edn), EDN_SOUP, DEPTHS.map(nested_list))
ETCD_LINE = mostly(
    st.builds(
        lambda p, t, f, v: f"INFO  jepsen.util - {p}\t:{t}\t:{f}\t{v}",
        st.integers(0, 4),
        mostly(st.sampled_from(TYPES), st.just("bogus"), odds=16),
        st.sampled_from(["read", "write", "cas", "x-y"]),
        mostly(st.sampled_from(["nil", ":timed-out", "[1 2]", "3", "[3 0]", "4"]), EDN, odds=6),
    ),
    st.one_of(st.just("2016-01-01 INFO  jepsen.core - noise"), JUNK),
    odds=12,
)
KV_LINE = mostly(
    st.builds(
        lambda p, t, f, k, v, extra: f"{{:process {p}, :type :{t}, :f :{f}, :key {k}, :value {v}{extra}}}",
        mostly(st.integers(0, 4).map(str), EDN | st.just(":nemesis"), odds=6),
        mostly(st.sampled_from(TYPES), st.just("bogus"), odds=16),
        st.sampled_from(["get", "put", "append", "x"]),
        mostly(st.sampled_from(['"k"', '"j"']), EDN, odds=6),
        mostly(st.sampled_from(["nil", '"v"', '"x 0 0 y"', ":timed-out"]), EDN, odds=6),
        mostly(st.just(""), EDN.map(lambda e: f", {e} 1") | JSON.map(lambda v: f", :extra {edn(v)}"), odds=6),
    ),
    st.one_of(
        EDN_SOUP.map(lambda s: "{" + s + "}"),
        JSON.filter(lambda v: isinstance(v, dict)).map(edn),
        JUNK,
    ),
    odds=12,
)
ETCD = st.lists(ETCD_LINE, max_size=10).map("\n".join)
KV = st.lists(KV_LINE, max_size=10).map("\n".join)
HISTORIES = {"jsonl": JSONL, "etcd": ETCD, "kv": KV}

CHECKERS = [*STREAMING, "linearizability", "bogus"]
CHECK_FLAGS = st.lists(
    st.one_of(
        st.tuples(st.just("--format"), st.sampled_from(["jsonl", "etcd", "kv", "bogus"])),
        st.tuples(st.just("--checker"), st.sampled_from(CHECKERS)),
        st.tuples(st.just("--model"), st.sampled_from(["register", "kv", "bogus"])),
        st.tuples(st.just("--timeout"), mostly(st.sampled_from(["1", "30", "1e-9"]), NUMBERS, odds=2)),
        st.tuples(st.just("--max-witnesses"), mostly(st.sampled_from(["0", "1", "5"]), NUMBERS, odds=2)),
        st.just(("--no-partition",)),
        st.tuples(
            st.just("--system"),
            st.sampled_from(["nope:x", ":x", "harness:nope", "reference_system.system:system"]),
        ),
    ),
    max_size=3,
).map(lambda groups: [a for g in groups for a in g])


def check_history(d: Path, fmt: str, text: str, kind: str, named: bool, flags: list[str]) -> None:
    history = place(kind, d, f"history.{fmt}", text)
    run(f"check --format {fmt}", ["check", str(history), *(["--format", fmt] if named else []), *flags])


@fuzz(120)
@given(text=JSONL, kind=PATH_KINDS, named=st.booleans(), flags=CHECK_FLAGS)
def test_check_jsonl(
    workdir: Callable[[], Path], text: str, kind: str, named: bool, flags: list[str]
) -> None:
    check_history(workdir(), "jsonl", text, kind, named, flags)


@fuzz(80)
@given(text=ETCD, kind=PATH_KINDS, named=st.booleans(), flags=CHECK_FLAGS)
def test_check_etcd(workdir: Callable[[], Path], text: str, kind: str, named: bool, flags: list[str]) -> None:
    check_history(workdir(), "etcd", text, kind, named, flags)


@fuzz(80)
@given(text=KV, kind=PATH_KINDS, named=st.booleans(), flags=CHECK_FLAGS)
def test_check_kv(workdir: Callable[[], Path], text: str, kind: str, named: bool, flags: list[str]) -> None:
    check_history(workdir(), "kv", text, kind, named, flags)


# -- spec files ----------------------------------------------------------------------

SECTIONS = [*CHECKERS, "state_machine", "stages", "retries"]
SETTINGS = [
    "fifo_suffix",
    "dedup_window",
    "send",
    "receive",
    "subscriptions",
    "fed_queues",
    "require_delete",
    "per_kind",
    "per_operation",
    "refused",
    "repeatable",
    "tables",
    "session_field",
    "consistent_only",
    "terminal",
    "state_machine",
    "allowed",
    "initial_state",
    "transitions",
    "initial",
    "max_anomalies",
    "max_pending",
    "partitioned",
    "check_subtasks",
    "assume_unknown_tokens",
    "strict",
]
SETTING_VALUE = JSON | st.lists(st.sampled_from(["a", "b", "done", "q.fifo"]), max_size=3)
SPEC = mostly(
    st.dictionaries(
        mostly(st.sampled_from([c for c in SECTIONS if c != "bogus"]), st.just("bogus"), odds=8),
        mostly(
            st.dictionaries(mostly(st.sampled_from(SETTINGS), st.text(max_size=4)), SETTING_VALUE, max_size=3)
        ),
        max_size=3,
    )
)


def toml(spec: Any) -> str:
    """A spec as TOML where it can be (tables of JSON-compatible values), else junk."""
    if not isinstance(spec, dict):
        return f"x = {json.dumps(spec)}"
    lines = []
    for section, kw in spec.items():
        lines.append(f"[{json.dumps(section)}]")
        for k, v in kw.items() if isinstance(kw, dict) else [("value", kw)]:
            if v is not None:
                lines.append(f"{json.dumps(k)} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


SPEC_FILE = st.one_of(
    st.tuples(st.just("spec.json"), SPEC.map(dumps)),
    st.tuples(st.just("spec.toml"), SPEC.map(toml)),
    st.tuples(st.just("spec"), SPEC.map(dumps) | SPEC.map(toml)),
    st.tuples(
        st.sampled_from(["spec.json", "spec.toml"]), DEEP_JSON | DEPTHS.map(lambda n: "a = " + nested_list(n))
    ),
    st.tuples(st.sampled_from(["spec.json", "spec.toml"]), JUNK),
)


@fuzz(100)
@given(
    spec=SPEC_FILE,
    kind=PATH_KINDS,
    fixture=st.sampled_from(["delivery-ok", "ordering-state-bad", "liveness-ok"]),
)
def test_check_spec_files(
    workdir: Callable[[], Path], spec: tuple[str, str], kind: str, fixture: str
) -> None:
    d = workdir()
    path = place(kind, d, spec[0], spec[1])
    history = REPO / "fixtures" / "histories" / f"{fixture}.jsonl"
    run("check --spec", ["check", str(history), "--spec", str(path)])


# -- report ------------------------------------------------------------------------------


@fuzz(40)
@given(
    text=JSONL,
    kind=PATH_KINDS,
    out=st.sampled_from(["default", "file", "deep", "directory", "under-a-file"]),
    quiet=st.booleans(),
)
def test_report(workdir: Callable[[], Path], text: str, kind: str, out: str, quiet: bool) -> None:
    d = workdir()
    history = place(kind, d, "history.jsonl", text)
    argv = ["report", str(history), *(["--quiet"] if quiet else [])]
    if out != "default":
        target = {"file": d / "r.html", "deep": d / "a" / "b" / "r.html", "directory": d}.get(out)
        if target is None:
            target = write(d / "plain", "x") / "r.html"
        argv += ["--out", str(target)]
    run("report", argv)


# -- schemas and registries ---------------------------------------------------------------

SCHEMA_TYPES = ["null", "boolean", "integer", "number", "string", "array", "object"]
DIALECTS = [
    "https://json-schema.org/draft/2020-12/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-04/schema#",
    "bogus",
]
BIG_ENUM = st.integers(33, 2000).map(lambda n: [f"v{i}" for i in range(n)] + [1, None, True])


def keywords(child: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    count = st.integers(0, 4) | JSON
    bound = st.integers(-3, 3) | st.floats(-10, 10) | st.booleans()
    return {
        "type": st.sampled_from(SCHEMA_TYPES) | st.lists(st.sampled_from(SCHEMA_TYPES), max_size=3) | JSON,
        "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), child, max_size=3),
        "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3) | JSON,
        "enum": st.lists(SCALARS, max_size=4) | BIG_ENUM | JSON,
        "const": JSON,
        "items": child | st.lists(child, max_size=2),
        "prefixItems": st.lists(child, max_size=2),
        "additionalProperties": st.booleans() | child,
        "minimum": bound,
        "maximum": bound,
        "exclusiveMinimum": bound,
        "exclusiveMaximum": bound,
        "multipleOf": st.sampled_from([0.5, 2, 3, 0.01]) | JSON,
        "minLength": count,
        "maxLength": count,
        "minItems": count,
        "maxItems": count,
        "minProperties": count,
        "maxProperties": count,
        "uniqueItems": st.booleans(),
        "pattern": st.sampled_from(["^a", "[", "x+", "(a|b)*c"]),
        "format": st.sampled_from(["date-time", "email", "uuid", "nope"]),
        "anyOf": st.lists(child, max_size=3),
        "oneOf": st.lists(child, max_size=3),
        "allOf": st.lists(child, max_size=3),
        "not": child,
        "if": child,
        "then": child,
        "$ref": st.sampled_from(
            ["#", "#/$defs/a", "#/definitions/a", "#/nope", "other.json", "#anchor", "#/properties/a"]
        ),
        "$defs": st.dictionaries(st.sampled_from(["a", "b"]), child, max_size=2),
        "definitions": st.dictionaries(st.sampled_from(["a"]), child, max_size=1),
        "$anchor": st.just("anchor"),
        "nullable": st.booleans(),
        "patternProperties": st.dictionaries(st.sampled_from(["^x", "["]), child, max_size=1),
        "dependentRequired": st.dictionaries(st.sampled_from(["a"]), st.lists(st.sampled_from(["b"]))),
        "x-message-type": st.sampled_from(["order", "other"]) | JSON,
        "x-message-version": st.integers(0, 3) | JSON,
    }


def schema_of(child: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    kws = keywords(child)
    return st.lists(st.sampled_from(sorted(kws)), unique=True, max_size=4).flatmap(
        lambda names: st.fixed_dictionaries({k: kws[k] for k in names})
    )


SCHEMA = st.recursive(st.booleans() | st.just({}) | schema_of(st.just(True)), schema_of, max_leaves=5)
ROOT = st.one_of(
    SCHEMA,
    SCHEMA.map(
        lambda s: {**s, "$schema": DIALECTS[len(json.dumps(s)) % len(DIALECTS)]} if isinstance(s, dict) else s
    ),
)
SCHEMA_TEXT = mostly(ROOT.map(dumps), DEEP_JSON | JSON.map(dumps) | JUNK, odds=8)
MODES = ["BACKWARD", "FORWARD", "FULL", "BACKWARD_ALL", "NONE", "DISABLED", "backward", "bogus"]


@fuzz(100)
@given(
    pair=st.one_of(st.tuples(SCHEMA_TEXT, SCHEMA_TEXT), SCHEMA_TEXT.map(lambda t: (t, t))),
    kinds=st.tuples(PATH_KINDS, PATH_KINDS),
    as_dir=st.booleans(),
    mode=st.none() | st.sampled_from(MODES),
    as_json=st.booleans(),
)
def test_contracts_diff(
    workdir: Callable[[], Path],
    pair: tuple[str, str],
    kinds: tuple[str, str],
    as_dir: bool,
    mode: str | None,
    as_json: bool,
) -> None:
    d = workdir()
    if as_dir:  # OLD a directory of versions
        (d / "versions").mkdir()
        write(d / "versions" / "order.v1.json", pair[0])
        old = d / "versions"
        new = place(kinds[1], d, "order.v2.json", pair[1])
    else:
        old = place(kinds[0], d, "old.json", pair[0])
        new = place(kinds[1], d, "new.json", pair[1])
    argv = ["contracts", "diff", str(old), str(new)]
    argv += ["--mode", mode] if mode else []
    argv += ["--json"] if as_json else []
    run("contracts diff", argv)


CONSUMER = mostly(
    st.fixed_dictionaries(
        {
            "consumer": mostly(st.sampled_from(["w", "x"]), odds=8),
            "reads": mostly(
                st.lists(
                    mostly(
                        st.fixed_dictionaries(
                            {
                                "message": mostly(st.sampled_from(["order", "other", "missing"]), odds=8),
                                "reads": mostly(
                                    st.dictionaries(
                                        st.sampled_from(["a", "a.b", "a[*]", "b?", "c[*].d", "[", "a..b"])
                                        | st.text(max_size=4),
                                        mostly(
                                            st.sampled_from(SCHEMA_TYPES + ["any", "bogus"])
                                            | st.lists(st.sampled_from(SCHEMA_TYPES), max_size=2),
                                            odds=8,
                                        ),
                                        max_size=3,
                                    ),
                                    odds=8,
                                ),
                            }
                        ),
                        odds=8,
                    ),
                    min_size=1,
                    max_size=2,
                ),
                odds=8,
            ),
        }
    ),
    odds=6,
)


@fuzz(60)
@given(
    schemas=mostly(
        st.lists(
            st.tuples(
                mostly(st.sampled_from(["order.v1", "order.v2", "other.v1"]), st.just("junk")), SCHEMA_TEXT
            ),
            min_size=1,
            max_size=3,
        ),
        st.just([]),
    ),
    consumers=mostly(
        st.lists(mostly(CONSUMER.map(dumps), JUNK | DEEP_JSON), min_size=1, max_size=2), st.just([])
    ),
    where=mostly(st.just("dir"), st.sampled_from(["missing", "file"])),
    as_json=st.booleans(),
)
def test_contracts_consumers(
    workdir: Callable[[], Path],
    schemas: list[tuple[str, str]],
    consumers: list[str],
    where: str,
    as_json: bool,
) -> None:
    d = workdir()
    reg = d / "contracts"
    if where == "dir":
        reg.mkdir()
        for name, text in schemas:
            write(reg / f"{name}.json", text)
        if consumers:
            (reg / "consumers").mkdir()
            for i, text in enumerate(consumers):
                write(reg / "consumers" / f"agent{i}.json", text)
    elif where == "file":
        write(reg, "x")
    run(
        "contracts consumers", ["contracts", "consumers", "--dir", str(reg), *(["--json"] if as_json else [])]
    )


@fuzz(20)
@given(
    where=st.sampled_from(["fresh", "existing", "missing", "file", "under-a-file", "junk-inside"]),
    check=st.booleans(),
    source=st.sampled_from(
        [None, None, "nope", ":x", "harness.nope:X", "harness.contracts:nope", "json:dumps"]
    ),
)
def test_contracts_export(workdir: Callable[[], Path], where: str, check: bool, source: str | None) -> None:
    d = workdir()
    target = d / "contracts"
    if where == "existing":
        target.mkdir()
    elif where == "file":
        write(target, "x")
    elif where == "under-a-file":
        write(d / "plain", "x")
        target = d / "plain" / "contracts"
    elif where == "junk-inside":
        target.mkdir()
        write(target / "order.v1.json", "{")
    elif where == "missing":
        target = d / "missing" / "contracts"
    argv = ["contracts", "export", "--dir", str(target), *(["--check"] if check else [])]
    argv += ["--source", source] if source else []
    run("contracts export", argv, cwd=d)


# -- chaos ----------------------------------------------------------------------------------

ACTIVITY_RUN = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "activity": mostly(
                st.fixed_dictionaries({}, optional={"name": mostly(st.just("probe")), "tolerance": JSON}),
                odds=8,
            ),
            "status": mostly(st.sampled_from(["succeeded", "failed"]), odds=8),
            "output": JSON
            | st.fixed_dictionaries(
                {"violated": mostly(st.lists(st.text(max_size=5)), odds=8)},
                optional={"verdict": JSON, "unknown": mostly(st.lists(st.text(max_size=5)), odds=8)},
            ),
            "tolerance_met": st.booleans() | JSON,
            "exception": mostly(st.lists(st.text(max_size=8), max_size=2) | st.text(max_size=8), odds=8),
        },
    ),
    odds=12,
)
STATE = mostly(
    st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "steady_state_met": st.booleans() | JSON,
            "probes": mostly(st.lists(ACTIVITY_RUN, max_size=2)),
        },
    ),
    odds=12,
)
JOURNAL = mostly(
    st.fixed_dictionaries(
        {"status": mostly(st.sampled_from(["completed", "failed", "interrupted", "aborted"]), odds=12)},
        optional={
            "deviated": st.booleans() | JSON,
            "steady_states": mostly(
                st.fixed_dictionaries({}, optional={"before": STATE, "after": STATE}), odds=12
            ),
            "run": mostly(st.lists(ACTIVITY_RUN, max_size=2), odds=12),
            "rollbacks": mostly(st.lists(ACTIVITY_RUN, max_size=2), odds=12),
            "experiment": mostly(
                st.fixed_dictionaries({}, optional={"steady-state-hypothesis": JSON}), odds=12
            ),
            "harness": mostly(st.fixed_dictionaries({}, optional={"error": JSON, "history": JSON}), odds=12),
        },
    ),
    odds=12,
)
JOURNAL_TEXT = mostly(JOURNAL.map(dumps), DEEP_JSON | JUNK, odds=8)


@fuzz(120)
@given(text=JOURNAL_TEXT, kind=PATH_KINDS)
def test_chaos_judge(workdir: Callable[[], Path], text: str, kind: str) -> None:
    d = workdir()
    run("chaos judge", ["chaos", "judge", str(place(kind, d, "journal.json", text))])


EXPERIMENT = mostly(
    st.fixed_dictionaries(
        {
            "method": mostly(
                st.lists(mostly(st.fixed_dictionaries({}, optional={"type": JSON, "name": JSON})), max_size=2)
            )
        },
        optional={"title": JSON, "description": JSON, "steady-state-hypothesis": JSON},
    ),
    odds=8,
)
CHAOS_LOG = st.lists(
    st.sampled_from(
        [
            "[2026-01-01 00:00:00 INFO] [run:150] Validating the experiment's syntax",
            "\x1b[31m[2026-01-01 00:00:00 ERROR]\x1b[39m the cause",
            "[2026-01-01 00:00:00 CRITICAL] [x:1] something\n    continued",
            "[ERROR]",
            "junk",
        ]
    ),
    max_size=3,
).map("\n".join)


@fuzz(60)
@given(
    text=mostly(EXPERIMENT.map(dumps), DEEP_JSON | JUNK, odds=8),
    kind=PATH_KINDS,
    journal=mostly(JOURNAL_TEXT, st.none()),
    log=st.none() | CHAOS_LOG,
    code=st.sampled_from([0, 1, 2, -9]),
    out=mostly(st.just("dir"), st.just("file")),
    backend=mostly(st.sampled_from(["embedded", "localstack"]), st.just("nowhere")),
)
def test_chaos_run(
    workdir: Callable[[], Path],
    text: str,
    kind: str,
    journal: str | None,
    log: str | None,
    code: int,
    out: str,
    backend: str,
) -> None:
    """Chaos Toolkit itself is replaced by a stand-in writing the generated log and journal."""
    import harness.chaos.cli as chaos_cli

    d = workdir()

    def fake_chaos(cmd: list[str], env: dict[str, str]) -> int:
        if log is not None:
            write(Path(cmd[cmd.index("--log-file") + 1]), log)
        if journal is not None:
            write(Path(cmd[cmd.index("--journal-path") + 1]), journal)
        return code

    target = d / "out" if out == "dir" else write(d / "out", "x")
    argv = ["chaos", "run", str(place(kind, d, "exp.json", text)), "--out", str(target), "--backend", backend]
    with mock.patch.object(chaos_cli, "_call", fake_chaos):
        run("chaos run", argv)


# -- fault plans ------------------------------------------------------------------------------

FAULT_KINDS = [
    "drop_request",
    "lose_ack",
    "delay",
    "throttle",
    "crash",
    "pause",
    "clock_skew",
    "model",
    "bogus",
]
SMALL = st.integers(0, 3) | st.floats(0, 1) | JSON
FAULT = st.fixed_dictionaries(
    {"kind": mostly(st.sampled_from(FAULT_KINDS), odds=8)},
    optional={
        "id": mostly(st.just("f1")),
        "target": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "agent": mostly(st.just("worker-*")),
                    "service": mostly(st.just("sqs")),
                    "resource": mostly(st.sampled_from(["q", "arn:aws:sqs:x", ""])),
                },
            ),
            odds=8,
        ),
        "trigger": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "nth": SMALL,
                    "every": SMALL,
                    "probability": SMALL,
                    "max_count": SMALL,
                    "window": JSON,
                },
            ),
            odds=8,
        ),
        "params": mostly(
            st.dictionaries(st.sampled_from(["seconds", "mode", "when", "restart_after", "code"]), SMALL),
            odds=8,
        ),
    },
)
PLAN = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "seed": mostly(st.integers(0, 9), odds=8),
            "faults": mostly(st.lists(FAULT, max_size=2), odds=8),
        },
    ),
    odds=8,
)


@fuzz(80)
@given(text=mostly(PLAN.map(dumps), DEEP_JSON | JUNK, odds=8), kind=PATH_KINDS)
def test_run_plans(workdir: Callable[[], Path], text: str, kind: str) -> None:
    """``harness run --plan FILE`` reads the plan before it checks its other
    flags; ``--supervisors 0`` makes sure nothing runs after it."""
    d = workdir()
    plan = place(kind, d, "plan.json", text)
    with mock.patch("harness.run.run", side_effect=AssertionError("the fuzz test runs no system")):
        run("run --plan", ["run", "--plan", str(plan), "--supervisors", "0", "--out", str(d / "run")])


def test_a_plan_with_no_faults_is_accepted(tmp_path: Path) -> None:
    from harness.faults.plan import FaultPlan

    plan = write(tmp_path / "plan.json", '{"seed": 1, "faults": []}')
    assert FaultPlan.load(plan).faults == []
    result = run("run --plan", ["run", "--plan", str(plan), "--supervisors", "0"])
    assert result.code == 2 and "--supervisors" in result.err  # the plan was fine; the flag is not


# -- explore ------------------------------------------------------------------------------


EXPLORE_FLAGS = st.lists(
    st.one_of(
        st.tuples(st.just("--seeds"), NUMBERS),
        st.tuples(st.just("--time-budget"), NUMBERS),
        st.tuples(st.just("--jobs"), NUMBERS),
        st.tuples(st.just("--seed"), NUMBERS),
        st.tuples(st.just("--shrink-time"), NUMBERS),
        st.tuples(
            st.just("--faults"), st.sampled_from(["crash", "crash,duplicate_delivery", "bogus", ",", ""])
        ),
        st.tuples(
            st.just("--executor"), st.sampled_from(["local", "tcp://127.0.0.1:1", "tcp://", "udp://x:1", ""])
        ),
        st.tuples(st.just("--system"), st.sampled_from(["nope:x", ":x", "harness:nothing", "json:loads"])),
        st.tuples(st.just("--option"), st.sampled_from(["a=1", "=1", "a", "workers=-1"])),
        st.tuples(
            st.just("--worker"), st.sampled_from(["x=nope:Y", "=a:b", "research", "research=json:loads"])
        ),
        st.just(("--resume",)),
        st.just(("--bogus",)),
    ),
    max_size=3,
).map(lambda groups: [a for g in groups for a in g])


@fuzz(80)
@given(
    text=mostly(PLAN.map(dumps), DEEP_JSON | JUNK, odds=8),
    kind=PATH_KINDS,
    with_plan=st.booleans(),
    corpus=st.sampled_from(["fresh", "a-file", "under-a-file"]),
    flags=EXPLORE_FLAGS,
)
def test_explore(
    workdir: Callable[[], Path], text: str, kind: str, with_plan: bool, corpus: str, flags: list[str]
) -> None:
    """``harness explore`` checks its flags, plan, system and corpus before it
    starts an executor; the executor here refuses, so no campaign runs, and
    what was accepted ends in that one-line refusal."""
    from harness.explore import cli

    d = workdir()
    where = {"fresh": d / "corpus", "a-file": write(d / "corpus", "x"), "under-a-file": d / "corpus" / "c"}[
        corpus
    ]
    if corpus == "under-a-file":
        write(d / "corpus", "x")
    argv = ["explore", "--corpus", str(where), *flags]
    if with_plan:
        argv += ["--plan", str(place(kind, d, "plan.json", text))]

    def refuse(spec: str, jobs: int) -> Any:
        raise cli.BadInput("no executor in the fuzz test")

    with mock.patch.object(cli, "_executor", refuse):
        result = run("explore", argv)
    assert result.code == 2  # bad input, or the refusing executor


def test_explore_reaches_its_executor_with_good_flags(tmp_path: Path) -> None:
    """The fuzz test's inputs can get past every check: good flags reach the executor."""
    from harness.explore import cli

    seen: list[tuple[str, int]] = []

    def refuse(spec: str, jobs: int) -> Any:
        seen.append((spec, jobs))
        raise cli.BadInput("no executor in the fuzz test")

    argv = ["explore", "--corpus", str(tmp_path / "c"), "--seeds", "3", "--jobs", "2", "--faults", "crash"]
    with mock.patch.object(cli, "_executor", refuse):
        result = run("explore", argv)
    assert seen == [("local", 2)] and "no executor in the fuzz test" in result.err


# -- deploy and the top-level command ----------------------------------------------------------------


@fuzz(40)
@given(
    backend=st.sampled_from(["embedded", "localstack", "aws", "bogus"]),
    flags=st.lists(
        st.one_of(
            st.tuples(st.just("--tag"), st.sampled_from(["a=b", "=b", "a", "a=", "k=v=w"])),
            st.tuples(st.just("--visibility-timeout"), NUMBERS),
            st.tuples(st.just("--out"), st.sampled_from(["OUT/file.json", "OUT", "OUT/no/file.json"])),
            st.just(("--state-machine",)),
            st.tuples(st.just("--role-arn"), st.just("arn:aws:iam::1:role/x")),
            st.tuples(st.just("--system"), st.sampled_from(["nope:x", ":x"])),
        ),
        max_size=3,
    ).map(lambda groups: [a for g in groups for a in g]),
)
def test_deploy(workdir: Callable[[], Path], backend: str, flags: list[str]) -> None:
    """No backend starts: ``open_backend`` is replaced by one that refuses."""
    from harness.backends import BackendError

    d = workdir()

    def refuse(*args: Any, **kw: Any) -> Any:
        raise BackendError("no backend in the fuzz test")

    argv = ["deploy", "--backend", backend, *(a.replace("OUT", str(d)) for a in flags)]
    with mock.patch("harness.backends.open_backend", refuse):
        run("deploy", argv)


FIRST = [
    "",
    "nope",
    "--version",
    "--help",
    "-h",
    "--bogus",
    "check",
    "report",
    "chaos",
    "contracts",
    "deploy",
    "run",
    "explore",
]
REST = [
    "--bogus",
    "-z",
    "--help",
    "judge",
    "diff",
    "consumers",
    "export",
    "check",
    "run",
    "--dir",
    "x",
    "-",
]


@fuzz(60)
@given(first=st.sampled_from(FIRST), rest=st.lists(st.sampled_from(REST), max_size=3))
def test_command_line(workdir: Callable[[], Path], first: str, rest: list[str]) -> None:
    """Subcommands and junk (``run``, ``deploy`` and ``explore`` get a flag they refuse: they would run the system)."""
    d = workdir()
    argv = [first, *rest] if first else rest
    if argv[:1] in (["run"], ["deploy"], ["explore"]) and "--help" not in argv:
        argv = [*argv, "--bogus"]
    nothing_runs = AssertionError("the fuzz test starts no backend and runs no system")
    with (
        mock.patch("harness.backends.open_backend", side_effect=nothing_runs),
        mock.patch("harness.run.run", side_effect=nothing_runs),
    ):
        run("harness", argv, cwd=d)
