"""gRPC load: a closed loop of `concurrency` calls over `channels` connections (grpc.aio), run as its
own process so its CPU is not the server's. Prints one JSON line: requests, rps, p50_ms, p99_ms, errors.

Run: python -m bench.grpc_load --target 127.0.0.1:8081 --model iris --rows '[[5.1,3.5,1.4,0.2]]' \
         --concurrency 8 --seconds 5
The request is what tritonclient sends: FP64 rows as raw_input_contents.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import grpc
import numpy as np
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

from .load import percentile


def infer_request(model: str, rows: list[list[float]]) -> pb.ModelInferRequest:
    data = np.asarray(rows, dtype=np.float64)
    tensor = pb.ModelInferRequest.InferInputTensor(name="input-0", datatype="FP64", shape=list(data.shape))
    return pb.ModelInferRequest(model_name=model, inputs=[tensor], raw_input_contents=[data.tobytes()])


async def drive(target: str, request: pb.ModelInferRequest, concurrency: int, seconds: float,
                channels: int) -> dict:
    opened = [grpc.aio.insecure_channel(target) for _ in range(channels)]
    stubs = [GRPCInferenceServiceStub(c) for c in opened]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(stub: GRPCInferenceServiceStub) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                await stub.ModelInfer(request, timeout=10)
            except grpc.aio.AioRpcError:
                errors += 1
            latencies.append((time.perf_counter() - start) * 1e3)

    began = time.perf_counter()
    await asyncio.gather(*(worker(stubs[i % channels]) for i in range(concurrency)))
    elapsed = time.perf_counter() - began
    for channel in opened:
        await channel.close()
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "errors": errors}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", required=True, help="JSON list of rows")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--channels", type=int, default=8)
    args = parser.parse_args()
    request = infer_request(args.model, json.loads(args.rows))
    print(json.dumps(asyncio.run(drive(args.target, request, args.concurrency, args.seconds,
                                       min(args.channels, args.concurrency)))))
