"""Importers for foreign histories: the two Jepsen formats of Porcupine's test
data, and a loader that picks the format of a file.

- ``etcd``: Jepsen's log lines ``INFO  jepsen.util - P :TYPE :F VALUE`` for a
  compare-and-set register (``read``, ``write``, ``cas [A B]``); other lines
  are logging noise and skipped.
- ``kv``: EDN maps, one per line:
  ``{:process P, :type :invoke|:ok, :f :get|:put|:append, :key "K", :value V}``.

Both become :class:`~harness.history.model.Op` with ``index`` and ``time`` set
to the event's position (Jepsen logs carry no usable clock). A ``:timed-out``
value becomes ``error="timed-out"`` with no value. As in JSONL histories, a
process that is a vector or a map is read as its canonical JSON text, and EDN
nests at most :data:`~harness.history.model.MAX_NESTING` levels deep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.history.jsonl import HistoryFormatError, read_history
from harness.history.model import MAX_NESTING, OP_TYPES, Op, as_name

FORMATS = ("jsonl", "etcd", "kv")

_ETCD = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\w+)\s+:([\w-]+)\s*(.*?)\s*$")


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8", errors="replace")
    except OSError as e:
        raise HistoryFormatError(f"{p}: cannot open: {e.strerror}") from None
    with fh:
        yield from enumerate(fh, 1)


def _etcd_value(text: str, where: str) -> tuple[Any, str | None]:
    if text in ("", "nil"):
        return None, None
    if text.startswith(":"):
        return None, text[1:]
    try:
        return parse_edn(text), None
    except TooDeep:
        raise HistoryFormatError(f"{where}: a value nested deeper than {MAX_NESTING} levels") from None
    except ValueError as e:
        raise HistoryFormatError(f"{where}: {e}") from None


def read_etcd_log(path: str | Path) -> list[Op]:
    """Read a Jepsen etcd register log (see the module docstring)."""
    ops: list[Op] = []
    for lineno, line in _lines(path):
        m = _ETCD.match(line)
        if m is None:
            continue
        proc, typ, f, rest = m.groups()
        where = f"{path}:{lineno}"
        if typ not in OP_TYPES:
            raise HistoryFormatError(f"{where}: unknown operation type :{typ}")
        value, error = _etcd_value(rest, where)
        if typ == "invoke":
            error = None
        n = len(ops)
        ops.append(Op(index=n, time=n, process=int(proc), type=typ, f=f, value=value, error=error))
    return ops


_KV_LINE = re.compile(
    r'^\{:process (\d+), :type :(invoke|ok|fail|info), :f :([\w-]+), :key "([^"\\]*)", :value (?:nil|"([^"\\]*)")\}$'
)


def read_kv_log(path: str | Path) -> list[Op]:
    """Read a Jepsen key-value history of EDN maps (see the module docstring)."""
    ops: list[Op] = []
    for lineno, line in _lines(path):
        line = line.strip()
        if not line:
            continue
        m = _KV_LINE.match(line)
        if m is not None:  # the common shape, without the general EDN reader
            proc, typ, f, key, value = m.groups()
            n = len(ops)
            ops.append(Op(index=n, time=n, process=int(proc), type=typ, f=f, key=key, value=value))
            continue
        where = f"{path}:{lineno}"
        try:
            d = parse_edn(line, MAX_NESTING + 1)  # the map of the operation, then its values
        except TooDeep:
            raise HistoryFormatError(f"{where}: a value nested deeper than {MAX_NESTING} levels") from None
        except ValueError as e:
            raise HistoryFormatError(f"{where}: {e}") from None
        if not isinstance(d, dict):
            raise HistoryFormatError(f"{where}: expected an EDN map")
        missing = [k for k in ("process", "type", "f") if k not in d]
        if missing:
            raise HistoryFormatError(f"{where}: missing {', '.join(':' + k for k in missing)}")
        typ = d["type"]
        if not isinstance(typ, str) or typ not in OP_TYPES:
            raise HistoryFormatError(f"{where}: unknown operation type {typ!r}")
        typ = str.__str__(typ)
        value = d.get("value")
        error = None
        if isinstance(value, Keyword):
            value, error = None, str(value)
        n = len(ops)
        extra = {k: v for k, v in d.items() if k not in ("process", "type", "f", "key", "value")}
        ops.append(
            Op(
                index=n,
                time=n,
                process=as_name(d["process"]),
                type=typ,
                f=str(d["f"]),
                key=d.get("key"),
                value=value,
                error=error if typ != "invoke" else None,
                meta={str(k): v for k, v in extra.items()},
            )
        )
    return ops


def detect_format(path: str | Path) -> str:
    """Guess a history's format from its first meaningful line."""
    for _, line in _lines(path):
        s = line.strip()
        if not s:
            continue
        if "jepsen.util" in s:
            return "etcd"
        if s.startswith("{:"):
            return "kv"
        if s.startswith("{"):
            return "jsonl"
    return "jsonl"


def load_history(path: str | Path, format: str | None = None) -> list[Op]:
    """Read a history in ``format`` (``jsonl``, ``etcd`` or ``kv``; None = detect)."""
    fmt = format or detect_format(path)
    if fmt == "jsonl":
        return read_history(path)
    if fmt == "etcd":
        return read_etcd_log(path)
    if fmt == "kv":
        return read_kv_log(path)
    raise ValueError(f"unknown history format {fmt!r}; choose from {', '.join(FORMATS)}")


# -- a small EDN reader: enough for Jepsen's flat maps ---------------------------
class Keyword(str):
    """An EDN keyword (``:ok`` reads as ``Keyword("ok")``); compares equal to its name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>[\[({])|(?P<close>[\])}])|(?P<set>\#\{)
       |"(?P<str>(?:[^"\\]|\\.)*)"
       |(?P<atom>[^\s,\[\](){}"]+)
    )[\s,]*""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_CLOSE = {"[": "]", "(": ")", "{": "}", "#{": "}"}


def _atom(text: str) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith(":"):
        return Keyword(text[1:])
    try:
        return int(text.rstrip("N"))
    except ValueError:
        pass
    try:
        return float(text.rstrip("M"))
    except ValueError:
        return text  # a symbol


class TooDeep(ValueError):
    """EDN nested deeper than the reader accepts."""


def parse_edn(text: str, max_depth: int = MAX_NESTING) -> Any:
    """Parse one EDN value (maps, vectors, lists, sets, strings, keywords, numbers,
    nil, booleans). Raises ValueError on malformed input, or on collections
    nested deeper than ``max_depth``. A map key
    that is a collection becomes a tuple (a vector of scalars) or its canonical
    JSON text, so every map can be built."""
    stack: list[tuple[str, list[Any]]] = []
    result: list[Any] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip(" \t\r\n,") == "":
                break
            raise ValueError(f"cannot parse EDN at column {pos + 1}: {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group("open") or m.group("set"):
            if len(stack) >= max_depth:
                raise TooDeep(f"EDN nested deeper than {max_depth} levels")
            stack.append((m.group("open") or "#{", []))
            continue
        if m.group("close"):
            if not stack:
                raise ValueError(f"unbalanced {m.group('close')!r} in EDN")
            opener, items = stack.pop()
            if _CLOSE[opener] != m.group("close"):
                raise ValueError(f"mismatched {opener!r} and {m.group('close')!r} in EDN")
            if opener == "{":
                if len(items) % 2:
                    raise ValueError("an EDN map needs an even number of forms")
                value: Any = {_key(items[i]): items[i + 1] for i in range(0, len(items), 2)}
            elif opener == "#{":
                value = items
            else:
                value = items
        elif m.group("str") is not None:
            value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), m.group("str"))
        else:
            value = _atom(m.group("atom"))
        (stack[-1][1] if stack else result).append(value)
    if stack:
        raise ValueError("unterminated EDN collection")
    if len(result) != 1:
        raise ValueError(f"expected one EDN value, found {len(result)}")
    return result[0]


def _key(k: Any) -> Any:
    """A map key as a hashable value: a keyword's name, a scalar, a vector of
    scalars as a tuple, any other collection as its canonical JSON text."""
    if isinstance(k, Keyword):
        return str.__str__(k)
    if isinstance(k, list) and all(not isinstance(x, list | dict) for x in k):
        return tuple(k)
    return as_name(k)


__all__ = ["FORMATS", "Keyword", "detect_format", "load_history", "parse_edn", "read_etcd_log", "read_kv_log"]
