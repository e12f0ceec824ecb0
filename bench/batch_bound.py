"""How much server-side batching can save per request, measured in-process (no HTTP).

`python -m bench.batch_bound` times, for each workload, one request's predict call alone
and the same call's share of a 64-request batch, next to the per-request work batching
cannot share (parsing the request's JSON, encoding the response). The saving is the upper bound
on what batching can gain (HTTP costs, which batching cannot share either, are left out);
the bench's c64 rows show what it did gain.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from .loaders import load_predict
from .models import BUILDERS

BATCH = 64


def per_call_us(fn: Callable[[], object], seconds: float = 0.5) -> float:
    for _ in range(5):
        fn()
    calls, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - began) / calls * 1e6


def measure(name: str, root: Path) -> str:
    workload = BUILDERS[name](root)
    predict = load_predict(workload.kind, str(workload.model_path))
    body = workload.v1_body()
    rows = orjson.loads(body)["instances"]
    alone = per_call_us(lambda: predict(rows))
    shared = per_call_us(lambda: predict(rows * BATCH)) / BATCH
    result = {"predictions": predict(rows)}
    unshared = per_call_us(lambda: orjson.loads(body)) + per_call_us(lambda: orjson.dumps(result))
    return (f"| {name} | {len(rows)} | {alone:.0f} | {shared:.0f} | {unshared:.0f} | "
            f"{(alone + unshared) / (shared + unshared):.2f}x |")


def main(argv: list[str]) -> int:
    names = argv or list(BUILDERS)
    print("| workload | rows/request | predict alone us | predict share of a 64-batch us "
          "| per-request work batching cannot share us | best possible batching gain |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(measure(name, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
