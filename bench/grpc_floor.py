"""The gRPC floor: a bare `grpc.aio` server (KServe's generated stubs) running the same iris predict.

Run: python -m bench.grpc_floor --kind sklearn --model_path P --grpc_port 8081 [--predict-thread]
ModelInfer reads the first input (raw or typed contents), predicts on the event loop and answers
one raw INT64 output; no routing, limits, metrics, logging or error mapping. Other RPCs: UNIMPLEMENTED.
`--predict-thread`: the predict runs in one other thread instead (`run_in_executor`), as user code
does in kserve-bridge (never on the event loop): the floor of that design, the hand-off's cost alone.
"""
from __future__ import annotations

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import (
    GRPCInferenceServiceServicer,
    add_GRPCInferenceServiceServicer_to_server,
)

from .loaders import load_predict


class Floor(GRPCInferenceServiceServicer):
    def __init__(self, predict, predict_thread: bool = False):
        self.predict = predict
        self.pool = ThreadPoolExecutor(1) if predict_thread else None

    async def ModelInfer(self, request: pb.ModelInferRequest, context) -> pb.ModelInferResponse:
        item = request.inputs[0]
        if request.raw_input_contents:
            rows = np.frombuffer(request.raw_input_contents[0], dtype=np.float64).reshape(list(item.shape))
        else:
            rows = np.asarray(item.contents.fp64_contents).reshape(list(item.shape))
        if self.pool is None:
            out = np.asarray(self.predict(rows), dtype=np.int64)
        else:
            out = np.asarray(await asyncio.get_running_loop().run_in_executor(self.pool, self.predict, rows),
                             dtype=np.int64)
        tensor = pb.ModelInferResponse.InferOutputTensor(name="predictions", datatype="INT64", shape=[len(out)])
        return pb.ModelInferResponse(model_name=request.model_name, id=request.id, outputs=[tensor],
                                     raw_output_contents=[out.tobytes()])


async def serve(predict, port: int, predict_thread: bool) -> None:
    server = grpc.aio.server()
    add_GRPCInferenceServiceServicer_to_server(Floor(predict, predict_thread), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", required=True)
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--grpc_port", type=int, required=True)
    parser.add_argument("--predict-thread", action="store_true", help="predict off the event loop, as we do")
    args = parser.parse_args()
    try:  # the event loop kserve-bridge and uvicorn run on, when installed
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(serve(load_predict(args.kind, args.model_path), args.grpc_port, args.predict_thread))
