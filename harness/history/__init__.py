"""The record of what happened: operations in Jepsen's vocabulary, as JSONL."""

from harness.history.jsonl import HistoryFormatError, iter_history, merge_files, read_history, write_history
from harness.history.model import FAIL, INFO, INVOKE, OK, OP_TYPES, Op, pair_operations
from harness.history.recorder import Recorder

__all__ = [
    "FAIL",
    "INFO",
    "INVOKE",
    "OK",
    "OP_TYPES",
    "HistoryFormatError",
    "Op",
    "Recorder",
    "iter_history",
    "merge_files",
    "pair_operations",
    "read_history",
    "write_history",
]
