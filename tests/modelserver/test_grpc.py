"""The Open Inference Protocol over gRPC, driven by the real clients: kserve's InferenceGRPCClient in
this process and NVIDIA's tritonclient.grpc in a subprocess (they register the same protobuf symbols).
Health, metadata, status codes, limits, timeout, batching across protocols, payload records, and a
replica of two processes serving gRPC on one port."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.infer_type import RequestedOutput

from .conftest import HOLD, REPO, free_port, make_project, metric, python_api, release, wait_for, wait_in_flight

pytestmark = pytest.mark.slow
LIMIT = 100_000  # the echo server's --max_payload_bytes
TRITON_PYTHON = Path(os.environ.get("KSERVE_BRIDGE_TRITONCLIENT_PYTHON", REPO / ".venv-tritonclient/bin/python"))


def spec(extra: str = "") -> str:
    return python_api(extra, name="echo")


PREDICTOR = HOLD + '''
import os
import numpy as np


def text(array):
    value = array.ravel()[0]
    return value.decode() if isinstance(value, bytes) else str(value)


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload, headers):
        if "hold" in payload:
            hold(text(payload["hold"]))
        x = payload["x"]
        if x.size and x.ravel()[0] < 0:
            raise ValueError("negative input")
        return {"doubled": x * 2, "pid": np.array([os.getpid()]),
                "caller": np.array([headers.get("x-caller", "")], dtype=object)}
'''

BATCHED = HOLD + '''
import numpy as np


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        for item in payload:
            if "hold" in item:
                hold(item["hold"].ravel()[0].decode() if isinstance(item["hold"].ravel()[0], bytes)
                     else str(item["hold"].ravel()[0]))
        return [{"batch": np.array([len(payload)])} for _ in payload]
'''


def grpc_server(serve, project: Path, *args: str):
    port = free_port()
    server = serve(project, args=["--grpc_port", str(port), *args])
    return server, f"127.0.0.1:{port}"


def infer_request(x: list[float], model: str = "echo", hold: Path | None = None, **kwargs) -> InferRequest:
    inputs = [InferInput("x", [len(x)], "FP32", x)]
    if hold is not None:
        inputs.append(InferInput("hold", [1], "BYTES", [str(hold)]))
    return InferRequest(model_name=model, infer_inputs=inputs, **kwargs)


def call(url: str, method: str, *args, **kwargs):
    """One call of kserve's InferenceGRPCClient (async) from a test."""
    async def run():
        async with InferenceGRPCClient(url, timeout=120) as client:
            return await getattr(client, method)(*args, **kwargs)
    return asyncio.run(run())


def code_of(url: str, method: str, *args, **kwargs) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        call(url, method, *args, **kwargs)
    return caught.value.code(), caught.value.details()


@pytest.fixture(scope="module")
def echo(tmp_path_factory, module_servers):
    """One gRPC server for the plain cases, writing payload records to a file."""
    root = tmp_path_factory.mktemp("grpc")
    records = root / "records.jsonl"
    server, url = grpc_server(module_servers, make_project(root / "echo", spec(), PREDICTOR),
                              "--log_requests", str(records), "--max_payload_bytes", str(LIMIT))
    return server, url, records


def test_health_and_metadata_rpcs_tell_the_truth(echo):
    server, url, _ = echo
    assert call(url, "is_server_live") and call(url, "is_server_ready") and call(url, "is_model_ready", "echo")
    assert code_of(url, "is_model_ready", "nope")[0] == grpc.StatusCode.NOT_FOUND


def test_infer_matches_v2_rest_and_passes_metadata_as_headers(echo):
    server, url, _ = echo
    response = call(url, "infer", infer_request([1.5, 2.0]), headers=[("x-caller", "grpc-test")])
    by_name = {o.name: o.as_numpy() for o in response.outputs}
    assert by_name["doubled"].tolist() == [3.0, 4.0] and by_name["doubled"].dtype == np.float32
    assert by_name["caller"].tolist() == [b"grpc-test"]
    rest = httpx.post(server.url + "/v2/models/echo/infer", timeout=60, headers={"x-caller": "grpc-test"},
                      json={"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2.0]}]}).json()
    assert {o["name"]: o["data"] for o in rest["outputs"]}["doubled"] == by_name["doubled"].tolist()
    assert [o["name"] for o in rest["outputs"]] == [o.name for o in response.outputs]
    only = call(url, "infer", infer_request([1.0], request_outputs=[RequestedOutput("doubled")]))
    assert [o.name for o in only.outputs] == ["doubled"]


def test_status_codes_and_the_server_keeps_serving(echo):
    server, url, _ = echo
    code, message = code_of(url, "infer", infer_request([1.0], model="nope"))
    assert code == grpc.StatusCode.NOT_FOUND and "'nope'" in message
    assert code_of(url, "infer", infer_request([1.0], model_version="7"))[0] == grpc.StatusCode.NOT_FOUND
    bad = InferRequest(model_name="echo", infer_inputs=[InferInput("x", [3], "FP32", [1.0, 2.0])])
    code, message = code_of(url, "infer", bad)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "'x'" in message
    code, message = code_of(url, "infer", infer_request([-1.0]))
    assert code == grpc.StatusCode.INTERNAL and "negative input" in message
    code, message = code_of(url, "infer", infer_request([1.0] * (LIMIT // 4 + 10)))  # FP32: above the limit
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert call(url, "infer", infer_request([2.0])).outputs[0].as_numpy().tolist() == [4.0]
    route = "/inference.GRPCInferenceService/ModelInfer"
    assert metric(server.url, "kserve_bridge_requests_total", route=route, code="404") >= 2
    assert metric(server.url, "kserve_bridge_request_errors_total", route=route) >= 1  # the INTERNAL one


def test_tritonclient_grpc(echo):
    if not TRITON_PYTHON.exists():
        pytest.skip(f"{TRITON_PYTHON} missing: scripts/install.sh makes the tritonclient venv")
    server, url, _ = echo
    done = subprocess.run([str(TRITON_PYTHON), str(Path(__file__).with_name("triton_grpc_client.py")), url, "echo"],
                          capture_output=True, text=True, timeout=120, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["live"] and out["ready"] and out["model_ready"] and out["server"] == "kserve-bridge"
    assert out["doubled"] == [[2.0, 4.0], [6.0, 8.0]] and out["outputs"] == ["doubled"]
    assert out["bad_shape"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert out["unknown_model"]["status"] == "StatusCode.NOT_FOUND"
    assert out["predictor_error"] == {"status": "StatusCode.INTERNAL", "message": "ValueError: negative input"}
    assert out["unknown_output"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert "nope" in out["unknown_output"]["message"]


def test_payload_records_for_grpc_calls(echo):
    server, url, records = echo
    call(url, "infer", infer_request([9.0], request_id="rec-1"), headers=[("ce-id", "grpc-record")])

    def ours():
        lines = records.read_text().splitlines() if records.exists() else []
        found = [json.loads(line) for line in lines if '"grpc-record"' in line]
        return found if len(found) == 2 else None
    request, response = wait_for(ours, "the request and response records of the gRPC call")
    assert request["type"].endswith("request") and response["type"].endswith("response")
    assert request["data"]["inputs"][0]["name"] == "x" and request["data"]["id"] == "rec-1"
    assert [o["name"] for o in response["data"]["outputs"]] == ["doubled", "pid", "caller"]


def held_call(url: str, request: InferRequest) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run():
        try:
            outcome.append(call(url, "infer", request))
        except grpc.aio.AioRpcError as exc:
            outcome.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_over_capacity_is_resource_exhausted_then_recovers(tmp_path, serve):
    server, url = grpc_server(serve, make_project(tmp_path / "one", spec("  autoscaling:\n"
                                                                         "    max_replica_concurrency: 1"), PREDICTOR))
    gate = tmp_path / "gate"
    thread, outcome = held_call(url, infer_request([1.0], hold=gate))
    wait_in_flight(server.url, "echo", 1)
    code, message = code_of(url, "infer", infer_request([2.0]))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_concurrency 1" in message
    assert httpx.post(server.url + "/v2/models/echo/infer", timeout=60, json={  # one limit for both protocols
        "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}).status_code == 503
    release(gate)
    thread.join(120)
    assert outcome[0].outputs[0].as_numpy().tolist() == [2.0]
    assert call(url, "infer", infer_request([3.0])).outputs[0].as_numpy().tolist() == [6.0]


def test_request_timeout_is_deadline_exceeded_and_serve_takes_grpc_port(tmp_path, serve):
    port = free_port()  # `kserve-bridge serve --grpc-port`, as a user starts it
    serve(make_project(tmp_path / "slow", spec("  kserve:\n    request_timeout: 1"), PREDICTOR),
          command=[sys.executable, "-m", "kserve_bridge", "serve", str(tmp_path / "slow")],
          args=["--grpc-port", str(port)])
    url = f"127.0.0.1:{port}"
    gate = tmp_path / "gate"
    try:
        code, message = code_of(url, "infer", infer_request([1.0], hold=gate))
    finally:
        release(gate)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "request timeout of 1 s" in message


def test_a_batch_mixes_http_and_grpc_requests(tmp_path, serve):
    project = make_project(tmp_path / "batched", spec("    server_side_batching:\n      max_batch_size: 2\n"
                                                      "      batch_interval: 1h"), BATCHED)
    server, url = grpc_server(serve, project)
    gate = tmp_path / "gate"
    first, first_outcome = held_call(url, infer_request([1.0], hold=gate))  # a batch of one, held
    wait_in_flight(server.url, "echo", 1)
    rest: list = []
    http = threading.Thread(target=lambda: rest.append(httpx.post(server.url + "/v2/models/echo/infer", timeout=120,
                            json={"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [2]}]})))
    http.start()
    second, second_outcome = held_call(url, infer_request([3.0]))
    wait_in_flight(server.url, "echo", 3)  # both queued behind the held batch: the next batch takes both
    release(gate)
    for thread in (first, http, second):
        thread.join(120)
    assert first_outcome[0].outputs[0].as_numpy().tolist() == [1]
    assert second_outcome[0].outputs[0].as_numpy().tolist() == [2]
    assert rest[0].json()["outputs"][0]["data"] == [2]


def test_two_processes_serve_grpc_on_one_port(tmp_path, serve):
    server, url = grpc_server(serve, make_project(tmp_path / "two", spec("    processes_per_replica: 2"), PREDICTOR))
    assert call(url, "is_server_ready")
    workers = {w["pid"] for w in httpx.get(server.url + "/readyz", timeout=60).json()["processes"]}
    pids: set[int] = set()

    async def spread() -> None:  # the kernel spreads connections (SO_REUSEPORT): one per client
        for _ in range(16):
            async with InferenceGRPCClient(url, timeout=120) as client:
                response = await client.infer(infer_request([1.0]))
                pids.add(int({o.name: o for o in response.outputs}["pid"].as_numpy()[0]))
    # A process reports loaded (and the replica ready) just before it binds the gRPC port: on a
    # loaded machine the first calls may all reach the other one, so call until both have answered.
    wait_for(lambda: asyncio.run(spread()) or pids >= workers, "gRPC calls answered by both processes")
    assert pids == workers and len(pids) == 2


def test_a_taken_grpc_port_fails_the_start(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project = make_project(tmp_path / "taken", spec(), PREDICTOR)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("KSERVE_BRIDGE_")},
               "PYTHONPATH": str(REPO), "KSERVE_BRIDGE_SKIP_DEPS": "1"}
        done = subprocess.run([sys.executable, "-m", "modelserver", "--model_dir", str(project), "--host", "127.0.0.1",
                               "--http_port", str(free_port()), "--grpc_port", str(port)],
                              capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0 and f"cannot serve gRPC on 127.0.0.1:{port}" in done.stderr


def test_readiness_turns_false_on_sigterm_while_calls_are_still_served(tmp_path, serve):
    import signal
    server, url = grpc_server(serve, make_project(tmp_path / "drain", spec(), PREDICTOR), "--drain_delay_s", "120")
    assert call(url, "is_server_ready")
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: not call(url, "is_server_ready"), "ServerReady false after SIGTERM (the drain delay)")
    assert call(url, "is_server_live") and not call(url, "is_model_ready", "echo")
    assert call(url, "infer", infer_request([1.0])).outputs[0].as_numpy().tolist() == [2.0]  # still serving
    assert httpx.get(server.url + "/readyz", timeout=60).status_code == 503  # the same answer as HTTP's
