"""Delivery + idempotency + ordering over a generated history of N operations,
timed against only parsing the same file in the same run.

    .venv/bin/python benchmarks/bench_checkers.py [--ops 1000000] [--seed 1] [--memory]

Prints the parse time, the check time (parse + the three checkers in one
streaming pass), their ratio (target: at most 1.5x), and with ``--memory`` the
peak memory of each pass at two history lengths, measured in fresh processes.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.checkers.conventions import REFERENCE_STATE_MACHINE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.checkers import DeliveryChecker, IdempotencyChecker, OrderingChecker, run_checkers  # noqa: E402
from harness.history.jsonl import iter_history  # noqa: E402


def generate(path: Path, n_ops: int, seed: int = 1) -> int:
    """A realistic history: supervisors send tasks (a fifth to FIFO queues), workers
    receive, run, publish an effect and delete; a few messages are redelivered.
    Several pipelines run at once, so operations interleave. Returns the op count."""
    import orjson

    rng = random.Random(seed)
    out = path.open("wb")
    count = 0
    t = 0

    def emit(process: str, typ: str, f: str, key: Any, value: Any, agent: str) -> None:
        nonlocal count, t
        t += rng.randint(1_000, 50_000)
        d = {"index": count, "time": t, "process": process, "type": typ, "f": f, "agent": agent}
        if key is not None:
            d["key"] = key
        if value is not None:
            d["value"] = value
        out.write(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
        count += 1

    def pipeline(i: int):
        fifo = i % 5 == 0
        queue = "tasks.fifo" if fifo else "tasks"
        mid, sqs = f"m{i}", f"sqs-{i}"
        v: dict[str, Any] = {"message_id": mid}
        if fifo:
            v["group"] = f"g{i % 97}"
        task = f"task-{i}"
        w = f"worker-{i % 8}"
        wp = f"{w}/t{i % 3}"
        yield ("supervisor", "invoke", "sqs.SendMessage", queue, v, "supervisor")
        yield ("supervisor", "ok", "sqs.SendMessage", queue, {**v, "sqs_id": sqs}, "supervisor")
        yield (
            "supervisor",
            "invoke",
            "state.transition",
            task,
            {"from": "pending", "to": "dispatched"},
            "supervisor",
        )
        yield (
            "supervisor",
            "ok",
            "state.transition",
            task,
            {"from": "pending", "to": "dispatched"},
            "supervisor",
        )
        receipts = 2 if rng.random() < 0.02 else 1
        for r in range(receipts):
            msg = {"sqs_id": sqs, "message_id": mid, "receive_count": r + 1}
            yield (wp, "invoke", "sqs.ReceiveMessage", queue, None, w)
            yield (wp, "ok", "sqs.ReceiveMessage", queue, {"messages": [msg]}, w)
        yield (wp, "invoke", "state.transition", task, {"from": "dispatched", "to": "running"}, w)
        yield (wp, "ok", "state.transition", task, {"from": "dispatched", "to": "running"}, w)
        yield (wp, "invoke", "effect.publish", task, {"title": f"t{i}"}, w)
        yield (wp, "ok", "effect.publish", task, {"title": f"t{i}"}, w)
        yield (wp, "invoke", "state.transition", task, {"from": "running", "to": "done"}, w)
        yield (wp, "ok", "state.transition", task, {"from": "running", "to": "done"}, w)
        yield (wp, "invoke", "sqs.DeleteMessage", queue, {"sqs_id": sqs}, w)
        yield (wp, "ok", "sqs.DeleteMessage", queue, None, w)

    # FIFO pipelines of one group must send in order: run them one after another per lane
    lanes: list[Any] = []
    i = 0
    with out:
        while lanes or count < n_ops:
            while len(lanes) < 8 and count < n_ops:
                lanes.append(pipeline(i))
                i += 1
            lane = rng.randrange(len(lanes))
            # one operation pair at a time keeps each process's invoke/complete adjacent
            try:
                emit(*next(lanes[lane]))
                emit(*next(lanes[lane]))
            except StopIteration:
                lanes.pop(lane)
    return count


def parse_only(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    for _ in iter_history(path):
        n += 1
    return time.perf_counter() - t0, n


def check_pass(path: Path) -> tuple[float, list[Any]]:
    t0 = time.perf_counter()
    verdicts = run_checkers(
        iter_history(path),
        [DeliveryChecker(), IdempotencyChecker(), OrderingChecker(state_machine=REFERENCE_STATE_MACHINE)],
    )
    return time.perf_counter() - t0, verdicts


def _peak_rss_mb() -> float:
    # VmHWM belongs to this process image (ru_maxrss would include the parent's, from before exec)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _child(path: str, mode: str) -> None:
    gc.collect()
    base = _rss_mb()
    if mode == "parse":
        parse_only(Path(path))
    else:
        check_pass(Path(path))
    print(json.dumps({"base_mb": base, "peak_mb": _peak_rss_mb()}))


def memory(path: Path) -> dict[str, float]:
    res = {}
    for mode in ("parse", "check"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path), mode], capture_output=True, text=True, check=True
        )
        d = json.loads(out.stdout)
        res[mode] = d["peak_mb"] - d["base_mb"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for each timing")
    ap.add_argument("--memory", action="store_true", help="also measure peak memory at N/4 and N operations")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "history.jsonl"
        t0 = time.perf_counter()
        n = generate(path, args.ops, args.seed)
        print(
            f"generated {n:,} operations ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s"
        )
        # interleaved, best of each: a busy machine slows both alike
        parses, checks = [], []
        verdicts: list[Any] = []
        for _ in range(args.repeat):
            parses.append(parse_only(path)[0])
            dt, verdicts = check_pass(path)
            checks.append(dt)
        parse, check = min(parses), min(checks)
        print(f"parse only:                         {parse:7.2f} s  ({parse / n * 1e6:.2f} us/op)")
        print(f"parse + delivery/idempotency/order: {check:7.2f} s  ({check / n * 1e6:.2f} us/op)")
        print(f"ratio:                              {check / parse:7.2f} x  (target <= 1.5)")
        for v in verdicts:
            print(
                f"  {v.checker:12} valid={v.valid!s:5} {json.dumps({k: x for k, x in v.stats.items() if k != 'anomalies'})}"
            )
        if args.memory:
            small = Path(d) / "small.jsonl"
            generate(small, n // 4, args.seed)
            for label, p in ((f"{n // 4:,} ops", small), (f"{n:,} ops", path)):
                m = memory(p)
                print(
                    f"peak memory above start, {label:>13}: parse {m['parse']:6.1f} MB, check {m['check']:6.1f} MB"
                )


if __name__ == "__main__":
    main()
