"""Time the linearizability checker on Porcupine's conformance corpus.

    .venv/bin/python benchmarks/bench_linearizability.py [--repeat 5] [--unpartitioned-timeout 10]

For every file in ../shared/conformance/porcupine: the best of ``--repeat``
check times (parsing excluded, reported apart), the verdict and whether it
agrees with expected.json. etcd logs use the register model; kv logs the kv
model per key, and again without partitioning (c50 on a time budget: an
"unknown" there is reported, never counted as agreement).

Porcupine itself (Go) is not run by this script: this machine has no Go
module proxy to fetch it from, so no side-by-side figure is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.checkers import check_linearizability  # noqa: E402
from harness.history.importers import read_etcd_log, read_kv_log  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "conformance" / "porcupine"


def bench(path: Path, model: str, repeat: int, partitioned: bool = True, timeout: float | None = None):
    t0 = time.perf_counter()
    history = (read_etcd_log if model == "register" else read_kv_log)(path)
    parse = time.perf_counter() - t0
    times = []
    verdict = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        verdict = check_linearizability(history, model, partitioned=partitioned, timeout=timeout)
        times.append(time.perf_counter() - t0)
    assert verdict is not None
    return parse, min(times), statistics.median(times), verdict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--unpartitioned-timeout", type=float, default=10.0, help="budget for c50 without partitions"
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    expected = json.loads((args.corpus / "expected.json").read_text())
    rows = []
    runs = [("etcd", name, "register", True, None) for name in sorted(expected["etcd"])]
    runs += [("kv", name, "kv", True, None) for name in sorted(expected["kv"])]
    runs += [
        ("kv", name, "kv", False, args.unpartitioned_timeout if name.startswith("c50") else None)
        for name in sorted(expected["kv"])
    ]
    for group, name, model, partitioned, timeout in runs:
        repeat = args.repeat if timeout is None else 1
        parse, best, median, v = bench(args.corpus / group / name, model, repeat, partitioned, timeout)
        want = expected[group][name]
        rows.append(
            {
                "file": f"{group}/{name}",
                "model": model if partitioned else f"{model} (unpartitioned)",
                "operations": v.stats["operations"],
                "parse_s": parse,
                "best_s": best,
                "median_s": median,
                "states": v.stats["states_explored"],
                "verdict": v.valid,
                "expected": want,
                "agrees": v.valid is want,
            }
        )
        r = rows[-1]
        mark = "ok" if r["agrees"] else ("UNKNOWN" if v.valid == "unknown" else "DISAGREES")
        print(
            f"{r['file']:22} {r['model']:22} ops={r['operations']:5} best={best * 1e3:9.2f} ms "
            f"median={median * 1e3:9.2f} ms states={r['states']:8} verdict={v.valid!s:7} {mark}",
            flush=True,
        )

    def total(pred) -> float:
        return sum(r["best_s"] for r in rows if pred(r))

    etcd = total(lambda r: r["file"].startswith("etcd"))
    kv_part = total(lambda r: r["file"].startswith("kv") and "unpartitioned" not in r["model"])
    kv_whole = total(
        lambda r: "unpartitioned" in r["model"] and not r["file"].endswith(("c50-ok.txt", "c50-bad.txt"))
    )
    parse = sum(r["parse_s"] for r in rows[: len(expected["etcd"]) + len(expected["kv"])])
    print()
    print(f"etcd register, {len(expected['etcd'])} files:       {etcd * 1e3:9.1f} ms")
    print(f"kv per key, {len(expected['kv'])} files:             {kv_part * 1e3:9.1f} ms")
    print(
        f"corpus total (the above):         {(etcd + kv_part) * 1e3:9.1f} ms  (+ {parse * 1e3:.0f} ms parsing)"
    )
    print(f"kv unpartitioned, c01 + c10:      {kv_whole * 1e3:9.1f} ms")
    slowest = max(rows[: len(expected["etcd"]) + len(expected["kv"])], key=lambda r: r["best_s"])
    print(f"slowest file: {slowest['file']} ({slowest['best_s'] * 1e3:.1f} ms, {slowest['states']} states)")
    c50 = [r for r in rows if "unpartitioned" in r["model"] and "c50" in r["file"]]
    for r in c50:
        print(f"{r['file']} unpartitioned: {r['verdict']} after {r['best_s']:.1f} s ({r['states']} states)")
    disagree = [r["file"] for r in rows if not r["agrees"] and r["verdict"] != "unknown"]
    print("disagreements with expected.json:", disagree or "none")
    print("Porcupine (Go): not measured on this machine (no Go module proxy to fetch it from).")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    sys.exit(1 if disagree else 0)


if __name__ == "__main__":
    main()
