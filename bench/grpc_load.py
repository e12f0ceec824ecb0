"""gRPC load: a closed loop of `concurrency` calls over `channels` connections, in its own process so
its CPU is not the server's. With nghttp2's `h2load` installed (C, as wrk is for HTTP; apt install
nghttp2-client), it sends the gRPC frames itself: a Python client costs more CPU per call than the
servers under test and would cap every one of them. Else grpc.aio, each channel its own TCP connection.
Prints one JSON line: requests, rps, p50_ms, p99_ms (grpc.aio) or mean_ms (h2load), errors, tool.

Run: python -m bench.grpc_load --target 127.0.0.1:8081 --model iris --rows '[[5.1,3.5,1.4,0.2]]' \
         --concurrency 8 --seconds 5
The request is what tritonclient sends: FP64 rows as raw_input_contents.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import struct
import subprocess
import tempfile
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
    # Channels to one target share one connection (gRPC's global subchannel pool) unless each has its own
    opened = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
              for _ in range(channels)]
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


def run_h2load(target: str, request: pb.ModelInferRequest, concurrency: int, seconds: float,
               channels: int) -> dict:
    """h2load over `channels` connections with concurrency/channels streams each. It sees HTTP statuses,
    and gRPC puts its status in trailers: a call that failed answers no message, so `errors` counts the
    answers missing from the data received."""
    body = request.SerializeToString()
    streams = max(1, concurrency // channels)
    with tempfile.NamedTemporaryFile(suffix=".grpc") as frame:
        frame.write(b"\x00" + struct.pack(">I", len(body)) + body)  # uncompressed, length-prefixed
        frame.flush()
        done = subprocess.run(["h2load", "-t1", f"-c{channels}", f"-m{streams}", f"-D{max(1, round(seconds))}",
                               "-d", frame.name, "-H", "content-type: application/grpc", "-H", "te: trailers",
                               f"http://{target}/inference.GRPCInferenceService/ModelInfer"],
                              capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"h2load failed: {done.stderr.strip() or done.stdout[-500:]}")
    return parse_h2load(done.stdout, ok_bytes=5 + len(OK_ANSWER.SerializeToString()))


# The smallest answer a successful call gets: one output with one INT64 (frame prefix added above).
OK_ANSWER = pb.ModelInferResponse(outputs=[pb.ModelInferResponse.InferOutputTensor(name="o", datatype="INT64",
                                                                                   shape=[1])])


def parse_h2load(out: str, ok_bytes: int) -> dict:
    """h2load's summary; a call whose data is missing (gRPC failed it in the trailers) is an error."""
    finished = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
    counts = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    data = re.search(r"traffic: .*?, \S+ \((\d+)\) data", out)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    if not (finished and counts and data and mean):
        raise RuntimeError(f"unrecognised h2load output: {out[-500:]}")
    requests = int(counts.group(1))
    answered = min(requests, int(data.group(1)) // ok_bytes)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[mean.group(2)]
    return {"requests": requests, "rps": float(finished.group(2)), "mean_ms": float(mean.group(1)) * scale,
            "errors": requests - int(counts.group(2)) + (requests - answered), "tool": "h2load"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", required=True, help="JSON list of rows")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--python", action="store_true", help="the grpc.aio client even when h2load is installed")
    args = parser.parse_args()
    request = infer_request(args.model, json.loads(args.rows))
    channels = min(args.channels, args.concurrency)
    if shutil.which("h2load") and not args.python:
        print(json.dumps(run_h2load(args.target, request, args.concurrency, args.seconds, channels)))
    else:
        result = asyncio.run(drive(args.target, request, args.concurrency, args.seconds, channels))
        print(json.dumps({**result, "tool": "grpc.aio"}))
