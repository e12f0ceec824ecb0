"""One Python predictor behind the real server: every route, every payload kind, every bad input."""
from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from kserve_bridge.contract import DEPLOYMENT_ID_HEADER, ServerSettings
from kserve_bridge.spec import load_spec

from .conftest import HOLD, make_project, release, wait_for

pytestmark = pytest.mark.slow

SPEC = """
- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    models:
      path: model/iris.joblib
    config:
      log: post_predict.jsonl
  networking:
    endpoint: /classify
"""

PREDICTOR = HOLD + '''
import json
from pathlib import Path

import joblib
from starlette.background import BackgroundTask
from starlette.responses import Response


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client
        self.log = Path(config["log"]).resolve()

    def load_model(self, model_path):
        return joblib.load(model_path)

    def predict(self, payload, query_params, headers):
        if isinstance(payload, str):
            return payload.upper()
        if isinstance(payload, bytes):
            return payload[::-1]
        if hasattr(payload, "multi_items"):  # a form
            return {k: (v if isinstance(v, str) else v.file.read().decode()) for k, v in payload.multi_items()}
        if "input-0" in payload:  # v2: decoded numpy inputs
            return {"label": self.client.get_model().predict(payload["input-0"])}
        if "boom" in payload:
            raise ValueError("boom requested")
        if "instances" in payload:  # v1
            return self.client.get_model().predict(payload["instances"]).tolist()
        if query_params.get("raw"):
            linger = BackgroundTask(hold, query_params["hold"]) if "hold" in query_params else None
            return Response("raw!", media_type="text/x-raw", headers={"x-custom": "1"}, background=linger)
        labels = self.client.get_model().predict(payload["rows"])
        return {"labels": labels, "query": query_params, "x_test": headers.get("x-test")}

    def post_predict(self, response, payload):
        with self.log.open("a") as out:
            out.write(json.dumps({"payload": payload if isinstance(payload, dict) else str(payload)}) + "\\n")
'''

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained, module_servers):
    project = make_project(tmp_path_factory.mktemp("py") / "iris", SPEC, PREDICTOR)
    (project / "model").mkdir()
    shutil.copy(trained["iris"], project / "model" / "iris.joblib")
    settings = ServerSettings.from_api(load_spec(project).get("iris"), deployment_id="dep-42")
    srv = module_servers(project, env=settings.to_env(), args=["--max_payload_bytes", "4096"])
    srv.project = project
    return srv


def test_json_predict_at_endpoint_and_predict_route(server):
    with server.client() as http:
        for route in ("/classify", "/predict"):
            r = http.post(route, json={"rows": ROWS}, params={"k": "v"}, headers={"x-test": "yes"})
            assert r.status_code == 200, r.text
            assert r.json() == {"labels": [0, 2], "query": {"k": "v"}, "x_test": "yes"}
            assert r.headers[DEPLOYMENT_ID_HEADER] == "dep-42"
            assert r.headers["content-type"] == "application/json"


def test_get_routes_describe_the_api(server):
    with server.client() as http:
        body = http.get("/predict").json()
        assert "ready" in body["message"]
        assert body["model_metadata"]["api"] == "iris"
        assert body["model_metadata"]["models"]["iris"]["versions"] == ["1"]
        assert http.get("/classify").json() == body


def test_text_bytes_form_and_response_passthrough(server):
    with server.client() as http:
        r = http.post("/classify", content="héllo".encode("latin-1"),
                      headers={"content-type": "text/plain; charset=latin-1"})
        assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (200, "HÉLLO", "text/plain")
        r = http.post("/classify", content=b"\x00\x01\x02", headers={"content-type": "application/x-thing"})
        assert (r.content, r.headers["content-type"]) == (b"\x02\x01\x00", "application/octet-stream")
        r = http.post("/classify", data={"a": "1", "b": "two"})
        assert r.json() == {"a": "1", "b": "two"}
        r = http.post("/classify", data={"a": "1"}, files={"f": ("f.txt", b"file body")})
        assert r.json() == {"a": "1", "f": "file body"}
        r = http.post("/classify?raw=1", json={})
        assert (r.text, r.headers["x-custom"], r.headers[DEPLOYMENT_ID_HEADER]) == ("raw!", "1", "dep-42")


def test_kserve_v1_route(server):
    with server.client() as http:
        r = http.post("/v1/models/iris:predict", json={"instances": ROWS})
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": [0, 2]}
        assert http.get("/v1/models/iris").json() == {"name": "iris", "ready": True}
        assert http.get("/v1/models").json() == {"models": ["iris"]}


def test_kserve_v2_routes_with_kserve_client(server):
    from kserve import InferenceRESTClient, InferInput, InferRequest
    from kserve.inference_client import RESTConfig

    async def call():
        client = InferenceRESTClient(RESTConfig(protocol="v2"))
        try:
            data = InferInput("input-0", [2, 4], "FP64")
            data.set_data_from_numpy(np.array(ROWS), binary_data=False)
            result = await client.infer(server.url, InferRequest("iris", [data]), model_name="iris")
            ready = await client.is_model_ready(server.url, "iris")
            return result, ready
        finally:
            await client.close()

    result, ready = asyncio.run(call())
    assert ready is True
    assert [o.name for o in result.outputs] == ["label"]
    assert result.outputs[0].as_numpy().tolist() == [0, 2]
    with server.client() as http:
        assert http.get("/v2/models/iris/ready").json()["ready"] is True
        assert http.get("/v2/health/live").status_code == 200
        assert http.get("/v2/models/iris").json()["name"] == "iris"
        r = http.post("/v2/models/iris/infer", json={"inputs": [
            {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]})
        assert r.json()["outputs"][0]["data"] == [0]


def metric(http, name: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_health_and_metrics(server):
    total = 'kserve_bridge_requests_total{api="iris",code="200",method="POST",route="/classify"}'
    seconds = 'kserve_bridge_request_duration_seconds_sum{api="iris",route="/classify"}'
    with server.client() as http:
        assert http.get("/healthz").json() == {"status": "alive"}
        assert http.get("/readyz").json() == {"ready": True}
        count, spent = metric(http, total), metric(http, seconds)
        # The response's background task holds until the test releases it: latency ends when the response does.
        gate = server.project / "linger-gate"
        try:
            started = time.monotonic()
            assert http.post("/classify", params={"raw": 1, "hold": str(gate)}, json={"tag": "linger"}).text == "raw!"
            answered = time.monotonic() - started
            wait_for(Path(f"{gate}.entered").exists, "the response's background task")
            assert metric(http, total) == count  # answered while the background work still runs
        finally:
            release(gate)
        wait_for(lambda: metric(http, total) == count + 1, "the request to be recorded after its background work")
        assert metric(http, seconds) - spent <= answered  # the latency recorded ends with the response
        assert 'kserve_bridge_request_duration_seconds_bucket{api="iris",le="0.005",route="/classify"}' \
            in http.get("/metrics").text
    post_log = server.project / "post_predict.jsonl"  # post_predict still runs after the predictor's own task
    wait_for(lambda: post_log.exists() and "linger" in post_log.read_text(), "post_predict after the background task")
    # The metrics carry what an access log would; at log_level info there is no log line per request.
    assert '"POST /classify' not in server.log_text() and "API iris ready in" in server.log_text()


def test_post_predict_runs_after_the_response(server):
    log = server.project / "post_predict.jsonl"
    with server.client() as http:
        assert http.post("/classify", json={"rows": ROWS, "tag": "post-1"}).status_code == 200
    wait_for(lambda: log.exists() and "post-1" in log.read_text(), "post_predict's record of post-1")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"rows": ROWS, "tag": "post-1"} in [line["payload"] for line in lines]


@pytest.mark.parametrize("bad, status, fragment", [
    ({"url": "/classify", "content": b"{not json", "headers": {"content-type": "application/json"}}, 400,
     "malformed JSON"),
    ({"url": "/v1/models/iris:predict", "content": b"{nope", "headers": {"content-type": "application/json"}}, 400,
     "Unrecognized request format"),
    ({"url": "/v1/models/iris:predict", "content": b"hello", "headers": {"content-type": "text/plain"}}, 415,
     "unsupported content type"),
    ({"url": "/classify", "json": {"rows": ROWS * 200}}, 413, "larger than the limit of 4096"),
    ({"url": "/v1/models/nope:predict", "json": {"instances": ROWS}}, 404, "nope"),
    ({"url": "/classify", "json": {"boom": 1}}, 500, "ValueError: boom requested"),
    ({"url": "/v1/models/iris:predict", "json": {"instances": [[1, 2]]}}, 500, "features"),
])
def test_bad_input_gets_clear_error_and_server_keeps_serving(server, bad, status, fragment):
    with server.client() as http:
        r = http.post(**bad)
        assert r.status_code == status, r.text
        assert fragment in r.json()["error"]
        assert r.json()["error"]
        good = http.post("/classify", json={"rows": ROWS})
        assert good.status_code == 200 and good.json()["labels"] == [0, 2]


def test_chunked_body_over_limit_is_413(server):
    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    def json_in_pieces():
        text = json.dumps({"instances": ROWS}).encode()
        yield from (text[i:i + 7] for i in range(0, len(text), 7))

    with server.client() as http:
        r = http.post("/classify", content=chunks(), headers={"content-type": "application/octet-stream"})
        assert r.status_code == 413
        assert http.post("/classify", json={"rows": ROWS}).status_code == 200
        pieced = http.post("/v1/models/iris:predict", content=json_in_pieces(),
                           headers={"content-type": "application/json"})  # chunked, under the limit
        assert pieced.status_code == 200 and pieced.json() == {"predictions": [0, 2]}
    assert "Traceback" in server.log_text()  # the predictor exception's traceback is in the log, not the reply
