"""python -m bench.handoff: CPU and wall time per predict hand-off, in-process.

Compares running a predict on the event loop (what the removed placement did for fast
predicts), the predict threads of modelserver/predict_threads.py (with and without the
request-timeout timer) and a ThreadPoolExecutor + asyncio.wrap_future (what was used
before). Each "request" does `--loop-work` iterations of Python on the loop (parsing,
encoding) and `--predict-work` in the predict; 8 requests are in flight. Printed per call.
"""
from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from modelserver.predict_threads import PredictThreads

MODES = ("loop", "executor", "threads", "threads+timer")


async def measure(mode: str, calls: int, concurrency: int, loop_work: int, predict_work: int) -> tuple[float, float]:
    threads, pool, loop = PredictThreads(1, name=f"bench-{mode}"), ThreadPoolExecutor(1), asyncio.get_running_loop()

    def predict() -> int:
        return sum(range(predict_work))

    async def one() -> int:
        sum(range(loop_work))
        if mode == "loop":
            return predict()
        if mode == "executor":
            return await asyncio.wrap_future(pool.submit(predict))
        future = threads.run(predict)
        timer = loop.call_later(300, lambda: None) if mode == "threads+timer" else None
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()

    async def client() -> None:
        for _ in range(calls // concurrency):
            await one()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    pool.shutdown()
    threads.close()
    return (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handoff", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=8000)
    parser.add_argument("--loop-work", type=int, default=1500, help="sum(range(N)) per request on the loop")
    parser.add_argument("--predict-work", type=int, default=1500, help="sum(range(N)) per predict")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import uvloop
    print("| mode | CPU us/call | wall us/call |\n|---|---|---|")
    for _ in range(args.rounds):
        for mode in MODES:
            cpu, wall = uvloop.run(measure(mode, args.calls, 8, args.loop_work, args.predict_work))
            print(f"| {mode} | {cpu:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
