"""python -m bench.ablation [--duration S] [--repeats N]: where KServe's stack spends time per
request, measured by switching its costs off one at a time (cumulatively) on the iris model.

Prints req/s, p99 and server CPU microseconds per request (the robust number on a shared box).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from .load import drive
from .models import build_iris
from .servers import Launch, Running, free_port

STEPS = ["", "access", "access,timing", "access,timing,latlog", "access,timing,latlog,grpc",
         "access,timing,latlog,grpc,uvloop", "access,timing,latlog,grpc,uvloop,lane",
         "access,timing,latlog,grpc,uvloop,lane,orjson", "access,timing,latlog,grpc,uvloop,lane,orjson,executor",
         "access,timing,latlog,grpc,uvloop,lane,orjson,direct"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ablation", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workload = build_iris(work)
        print("| knobs off (cumulative) | req/s | p99 ms | CPU us/req |\n|---|---|---|---|")
        for knobs in STEPS:
            port = free_port()
            argv_ = [sys.executable, "-m", "bench.ablation_server", "--kind", "sklearn", "--model_path",
                     str(workload.model_path), "--model_name", "iris", "--http_port", str(port),
                     "--grpc_port", str(free_port())]
            server = Running(Launch(argv_, port, "/v1/models/iris:predict", workload.v1_body(),
                                    env={"ABLATE": knobs}), work / "server.log")
            try:
                drive(server.url, server.launch.body, args.concurrency, 1.0)
                runs = []
                for _ in range(args.repeats):
                    result, cpu = server.measure(args.concurrency, args.duration)
                    runs.append((result.rps, result.p99_ms, cpu))
            finally:
                server.stop()
            rps, p99, cpu = (statistics.median(column) for column in zip(*runs, strict=False))
            print(f"| {knobs or '(KServe defaults)'} | {rps:,.0f} | {p99:.2f} | {cpu:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
