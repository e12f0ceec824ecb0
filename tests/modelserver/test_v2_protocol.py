"""KServe's v2 REST protocol as KServe's and NVIDIA's own clients speak it (issue 24): tritonclient
(http and aio) and kserve's InferenceRESTClient against the real server. Requested outputs, binary
tensors both ways, JSON without a content type, gzip/deflate bodies, model metadata, each model of
a multi-model API by its name and version, and a predictor's own Response on every route."""
from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import numpy as np
import pytest

from .conftest import make_project, metric

pytestmark = pytest.mark.slow

LIMIT = 1_000_000  # --max_payload_bytes of the ONNX server (the decompression bomb test)
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
NAMES = ["setosa", "versicolor", "virginica"]

ONNX_SPEC = """
- name: flowers
  kind: RealtimeAPI
  predictor:
    type: onnx
    path: predictor.py
    models:
      path: model/iris.onnx
"""

ONNX_PREDICTOR = '''
class ONNXPredictor:
    def __init__(self, onnx_client):
        self.client = onnx_client

    def predict(self, payload):
        return self.client.predict(payload)  # v2: {"X": array} -> [label, probabilities]
'''

ZOO_SPEC = """
- name: zoo
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    models:
      paths:
        - name: iris
          path: model/iris
        - name: zoo
          path: model/iris
"""

ZOO_PREDICTOR = f'''
from pathlib import Path

import joblib
import numpy as np
from starlette.responses import JSONResponse

NAMES = {NAMES!r}


class PythonPredictor:
    v2_inputs = [{{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}}]

    def __init__(self, python_client):
        self.client = python_client

    def load_model(self, model_path):
        return joblib.load(Path(model_path) / "model.joblib")

    def predict(self, payload, query_params):
        name = query_params.get("model")
        if not name:
            return JSONResponse({{"error": "name a model with ?model="}}, status_code=400)
        model = self.client.get_model(name, query_params.get("version", "latest"))
        rows = np.asarray(payload["rows"] if "rows" in payload else payload["instances"])
        labels = model.predict(rows).tolist()
        return {{"label": [NAMES[i] for i in labels], "probabilities": model.predict_proba(rows),
                "model": name, "version": query_params.get("version", "latest"),
                "details": [{{"name": NAMES[i], "rank": 1}} for i in labels]}}
'''


@pytest.fixture(scope="module")
def iris(trained):
    import joblib
    return joblib.load(trained["iris"])


@pytest.fixture(scope="module")
def flowers(module_servers, tmp_path_factory, iris):
    """An ONNX API whose model has two outputs, `label` and `probabilities`."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onnx_model = convert_sklearn(iris, initial_types=[("X", FloatTensorType([None, 4]))],
                                 options={id(iris): {"zipmap": False}}, target_opset=17)
    project = make_project(tmp_path_factory.mktemp("flowers") / "project", ONNX_SPEC, ONNX_PREDICTOR,
                           **{"model/iris.onnx": onnx_model.SerializeToString()})
    return module_servers(project, args=["--max_payload_bytes", str(LIMIT)])


@pytest.fixture(scope="module")
def zoo(module_servers, tmp_path_factory, trained):
    """A python API serving model `iris` (versions 1 and 2) and a model named like the API."""
    model = trained["iris"].read_bytes()
    project = make_project(tmp_path_factory.mktemp("zoo") / "project", ZOO_SPEC, ZOO_PREDICTOR,
                           **{"model/iris/1/model.joblib": model, "model/iris/2/model.joblib": model})
    return module_servers(project)


def host(server) -> str:
    return server.url.removeprefix("http://")


def triton_input(rows=ROWS, binary=True):
    import tritonclient.http as triton
    data = triton.InferInput("X", [len(rows), 4], "FP32")
    data.set_data_from_numpy(np.asarray(rows, dtype=np.float32), binary_data=binary)
    return data


def test_requested_outputs_and_binary_with_tritonclient(flowers, iris):
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(host(flowers))
    try:
        both = client.infer("flowers", [triton_input()])  # tritonclient asks for every output as binary
        assert both.as_numpy("label").tolist() == iris.predict(np.asarray(ROWS)).tolist()
        np.testing.assert_allclose(both.as_numpy("probabilities"), iris.predict_proba(np.asarray(ROWS)), rtol=1e-4)
        assert all("binary_data_size" in o["parameters"] for o in both.get_response()["outputs"])

        one = client.infer("flowers", [triton_input(binary=False)],
                           outputs=[triton.InferRequestedOutput("probabilities", binary_data=False)])
        assert [o["name"] for o in one.get_response()["outputs"]] == ["probabilities"]
        assert one.as_numpy("label") is None and one.as_numpy("probabilities").shape == (2, 3)

        with pytest.raises(InferenceServerException) as info:
            client.infer("flowers", [triton_input()], outputs=[triton.InferRequestedOutput("nope")])
        assert "Unexpected inference output 'nope'" in str(info.value)
        assert info.value.status() == "400"

        metadata = client.get_model_metadata("flowers")
        assert metadata["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
        assert metadata["outputs"] == [{"name": "label", "datatype": "INT64", "shape": [-1]},
                                       {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}]
        assert (metadata["platform"], metadata["versions"]) == ("onnxruntime_onnx", ["1"])
        assert client.is_model_ready("flowers") and not client.is_model_ready("nope")
    finally:
        client.close()


def test_binary_data_per_output_and_request_wide_over_raw_http(flowers):
    body = {"inputs": [{"name": "X", "shape": [2, 4], "datatype": "FP32", "data": sum(ROWS, [])}],
            "parameters": {"binary_data_output": True},
            "outputs": [{"name": "label", "parameters": {"binary_data": False}}, {"name": "probabilities"}]}
    with flowers.client() as http:
        answer = http.post("/v2/models/flowers/infer", json=body)
        assert answer.status_code == 200, answer.text
        length = int(answer.headers["inference-header-content-length"])
        head = json.loads(answer.content[:length])
        label, probabilities = head["outputs"]
        assert label["data"] == [0, 2] and "parameters" not in label  # its own binary_data: false wins
        assert probabilities["parameters"]["binary_data_size"] == 2 * 3 * 4 == len(answer.content) - length
        values = np.frombuffer(answer.content[length:], dtype="<f4").reshape(2, 3)
        np.testing.assert_allclose(values.sum(axis=1), [1, 1], rtol=1e-5)

        plain = http.post("/v2/models/flowers/infer", json={"inputs": body["inputs"]})
        assert "inference-header-content-length" not in plain.headers
        assert plain.headers["content-type"] == "application/json" and plain.json()["outputs"][0]["data"] == [0, 2]


def test_json_without_content_type_and_compressed_bodies(flowers):
    import tritonclient.http as triton

    body = json.dumps({"inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]}).encode()
    with flowers.client() as http:  # httpx sends raw bytes with no content-type, as tritonclient does for JSON
        request = http.build_request("POST", "/v2/models/flowers/infer", content=body)
        assert "content-type" not in request.headers
        answer = http.send(request)
        assert answer.status_code == 200 and answer.json()["outputs"][0]["data"] == [0], answer.text
        for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                                 ("deflate", zlib.compress(body, wbits=-15))):  # raw deflate, too
            answer = http.post("/v2/models/flowers/infer", content=packed, headers={"content-encoding": encoding})
            assert answer.status_code == 200 and answer.json()["outputs"][0]["data"] == [0], answer.text
        bomb = gzip.compress(b" " * (LIMIT * 50))  # ~50 KB that inflates to 50 MB
        assert len(bomb) < LIMIT
        answer = http.post("/v2/models/flowers/infer", content=bomb, headers={"content-encoding": "gzip"})
        assert answer.status_code == 413 and "decompressed" in answer.json()["error"]
        answer = http.post("/v2/models/flowers/infer", content=b"not gzip", headers={"content-encoding": "gzip"})
        assert answer.status_code == 400 and "malformed gzip body" in answer.json()["error"]
        answer = http.post("/v2/models/flowers/infer", content=body, headers={"content-encoding": "br"})
        assert answer.status_code == 415 and "'br'" in answer.json()["error"]

    client = triton.InferenceServerClient(host(flowers))
    try:
        for algorithm in ("gzip", "deflate"):
            for binary in (True, False):  # JSON-only requests carry no Inference-Header-Content-Length
                result = client.infer("flowers", [triton_input(binary=binary)],
                                      outputs=[triton.InferRequestedOutput("label", binary_data=binary)],
                                      request_compression_algorithm=algorithm)
                assert result.as_numpy("label").tolist() == [0, 2]
    finally:
        client.close()


def test_tritonclient_aio(flowers):
    import tritonclient.http.aio as triton_aio

    async def call():
        client = triton_aio.InferenceServerClient(host(flowers))
        try:
            ready = await client.is_model_ready("flowers")
            metadata = await client.get_model_metadata("flowers")
            results = await asyncio.gather(*(client.infer("flowers", [triton_input([row])]) for row in ROWS * 4))
            return ready, metadata, [r.as_numpy("label").tolist() for r in results]
        finally:
            await client.close()

    ready, metadata, labels = asyncio.run(call())
    assert ready and metadata["name"] == "flowers"
    assert labels == [[0], [2]] * 4


def test_kserve_client_requested_and_binary_outputs(flowers, iris):
    from kserve import InferenceRESTClient, InferInput, InferRequest
    from kserve.inference_client import RESTConfig
    from kserve.protocol.infer_type import RequestedOutput

    async def call(outputs, binary=False):
        client = InferenceRESTClient(RESTConfig(protocol="v2"))
        try:
            data = InferInput("X", [2, 4], "FP32")
            data.set_data_from_numpy(np.asarray(ROWS, dtype=np.float32), binary_data=binary)
            request = InferRequest("flowers", [data], request_outputs=outputs)
            return await client.infer(flowers.url, request, model_name="flowers")
        finally:
            await client.close()

    result = asyncio.run(call([RequestedOutput("probabilities")]))
    assert [o.name for o in result.outputs] == ["probabilities"]
    np.testing.assert_allclose(result.outputs[0].as_numpy(), iris.predict_proba(np.asarray(ROWS)), rtol=1e-4)
    result = asyncio.run(call([RequestedOutput("label", {"binary_data": True}), RequestedOutput("probabilities")],
                              binary=True))  # binary input too
    assert [o.name for o in result.outputs] == ["label", "probabilities"]
    assert result.outputs[0].as_numpy().tolist() == [0, 2]


def test_bad_v2_requests_name_the_field(flowers):
    with flowers.client() as http:
        binary = np.zeros(4, dtype=np.float32).tobytes()
        head = json.dumps({"inputs": [{"name": "X", "shape": [2, 4], "datatype": "FP32",
                                       "parameters": {"binary_data_size": len(binary)}}]}).encode()
        answer = http.post("/v2/models/flowers/infer", content=head + binary,
                           headers={"inference-header-content-length": str(len(head))})
        assert answer.status_code == 400 and "input 'X'" in answer.json()["error"]
        answer = http.post("/v2/models/flowers/infer", content=head + binary)  # binary data, no header
        assert answer.status_code == 400 and "inference-header-content-length" in answer.json()["error"]
        answer = http.post("/v2/models/flowers/infer", json={"inputs": [{"name": "X", "shape": [1, 4],
                                                                          "datatype": "FP33", "data": [1] * 4}]})
        assert answer.status_code == 422 and "inputs[0].datatype" in answer.json()["error"]
        answer = http.post("/v2/models/flowers/infer", json={"inputs": [{"name": "X", "shape": [1, 4],
                                                                          "datatype": "FP32"}]})
        assert answer.status_code == 422 and "inputs[0].data" in answer.json()["error"]
        for path in ("/v2/models/flowers/infer", "/v2/models/flowers/versions/1/infer"):
            answer = http.get(path)
            assert answer.status_code == 405 and "POST" in answer.headers["allow"], (path, answer.headers)
        assert http.post("/v2/models/flowers/versions/1/infer", json={"inputs": [
            {"name": "X", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]}).status_code == 200
    labels = {"api": "flowers", "method": "POST"}  # the lane counts under KServe's route paths
    assert metric(flowers.url, "kserve_bridge_requests_total", route="/v2/models/{model_name}/infer", code="422",
                  **labels) >= 2
    assert metric(flowers.url, "kserve_bridge_requests_total", code="200",
                  route="/v2/models/{model_name}/versions/{model_version}/infer", **labels) >= 1


def test_each_model_by_its_name_and_version(zoo, iris):
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    rows = triton.InferInput("rows", [2, 4], "FP64")
    rows.set_data_from_numpy(np.asarray(ROWS))
    client = triton.InferenceServerClient(host(zoo))
    try:
        result = client.infer("iris", [rows])
        assert result.as_numpy("label").tolist() == [b"setosa", b"virginica"]
        assert result.as_numpy("model").tolist() == b"iris"
        versioned = client.infer("iris", [rows], model_version="1", outputs=[triton.InferRequestedOutput("version")])
        assert versioned.as_numpy("version").tolist() == b"1"
        with pytest.raises(InferenceServerException) as info:
            client.infer("iris", [rows], model_version="7")
        assert info.value.status() == "404" and "no version '7'" in str(info.value)
        assert client.is_model_ready("iris") and client.is_model_ready("iris", "2")
        assert not client.is_model_ready("iris", "7")
        assert client.get_model_metadata("iris")["versions"] == ["1", "2"]
        # The API's name wins over the model of the same name: the predictor's default (no model named).
        api = client.get_model_metadata("zoo")
        assert api["inputs"] == [{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}] and api["versions"] == ["1"]
    finally:
        client.close()
    v2_body = {"inputs": [{"name": "rows", "shape": [2, 4], "datatype": "FP64", "data": sum(ROWS, [])}]}
    with zoo.client() as http:
        for method, path, body in (("POST", "/v2/models/zoo/infer", v2_body),
                                   ("POST", "/v1/models/zoo:predict", {"instances": ROWS}),
                                   ("POST", "/zoo", {"instances": ROWS})):
            answer = http.request(method, path, json=body)  # the predictor's own 400, status and body kept
            assert (answer.status_code, answer.json()) == (400, {"error": "name a model with ?model="}), path
        via_query = http.post("/v2/models/zoo/infer?model=zoo", json=v2_body)
        assert via_query.status_code == 200 and via_query.json()["model_name"] == "zoo"
        v1_query = http.post("/v1/models/zoo:predict?model=iris&version=1", json={"instances": ROWS})
        assert (v1_query.json()["model"], v1_query.json()["version"]) == ("iris", "1"), v1_query.text
        named = http.post("/v2/models/iris/versions/2/infer?model=zoo&version=1", json=v2_body).json()
        by_name = {o["name"]: o["data"] for o in named["outputs"]}
        assert (by_name["model"], by_name["version"]) == (["iris"], ["2"])  # the URL's name and version win
        v1 = http.post("/v1/models/iris:predict", json={"instances": ROWS})
        assert v1.status_code == 200 and v1.json()["label"] == ["setosa", "virginica"], v1.text
        assert http.post("/zoo?model=iris&version=2", json={"instances": ROWS}).json()["version"] == "2"
        packed = gzip.compress(json.dumps({"instances": ROWS}).encode())  # Cortex routes decode bodies too
        answer = http.post("/zoo?model=iris", content=packed, headers={"content-encoding": "gzip",
                                                                        "content-type": "application/json"})
        assert answer.status_code == 200 and answer.json()["model"] == "iris", answer.text
        assert http.get("/v1/models/iris").json() == {"name": "iris", "ready": True}
        assert set(http.get("/v2/models").json()["models"]) == {"zoo", "iris"}
        assert http.get("/v2/models/iris/versions/2/ready").json() == {"name": "iris", "ready": True}
        assert http.get("/v2/models/nope/ready").status_code == 404


def test_dict_results_become_named_outputs_with_json_text(zoo, iris):
    from kserve import InferenceRESTClient, InferInput, InferRequest
    from kserve.inference_client import RESTConfig

    async def call():
        client = InferenceRESTClient(RESTConfig(protocol="v2"))
        try:
            data = InferInput("rows", [2, 4], "FP64")
            data.set_data_from_numpy(np.asarray(ROWS), binary_data=False)
            return await client.infer(zoo.url, InferRequest("iris", [data]), model_name="iris")
        finally:
            await client.close()

    outputs = {o.name: o for o in asyncio.run(call()).outputs}
    assert list(outputs) == ["label", "probabilities", "model", "version", "details"]
    assert (outputs["label"].datatype, outputs["label"].shape, outputs["label"].data) == \
        ("BYTES", [2], ["setosa", "virginica"])
    assert (outputs["probabilities"].datatype, outputs["probabilities"].shape) == ("FP64", [2, 3])
    np.testing.assert_allclose(outputs["probabilities"].as_numpy(), iris.predict_proba(np.asarray(ROWS)))
    assert (outputs["model"].shape, outputs["model"].data) == ([], ["iris"])
    assert [json.loads(text) for text in outputs["details"].data] == [{"name": "setosa", "rank": 1},
                                                                      {"name": "virginica", "rank": 1}]


def test_tensorflow_style_metadata_types():
    """TensorFlow's dtype names and unknown dimensions map to v2 (the ONNX ones run against a real model above)."""
    from modelserver.model_names import v2_tensor

    assert v2_tensor("x", {"shape": [None, 3], "type": "float32"}) == {"name": "x", "datatype": "FP32",
                                                                       "shape": [-1, 3]}
    assert v2_tensor("s", {"shape": None, "type": "string"}) == {"name": "s", "datatype": "BYTES", "shape": [-1]}
    assert v2_tensor("b", {"shape": [2], "type": "bool"})["datatype"] == "BOOL"

