"""Multi-model (models.dir, numeric versions, LRU cache) and server-side batching."""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import numpy as np
import pytest

from .conftest import make_project

pytestmark = pytest.mark.slow

MULTI_PREDICTOR = '''
from pathlib import Path


class PythonPredictor:
    def __init__(self, python_client, config):
        self.client = python_client
        self.loads = Path(config["loads"]).resolve()

    def load_model(self, model_path):
        with self.loads.open("a") as out:
            out.write(str(Path(model_path).relative_to(Path.cwd())) + "\\n")
        return (Path(model_path) / "value.txt").read_text().strip()

    def predict(self, query_params):
        return self.client.get_model(query_params.get("model"), query_params.get("version", "latest"))
'''

MULTI_SPEC = """
- name: multi
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config: {loads: loads.txt}
    models:
      dir: models
      cache_size: 1
      disk_cache_size: 1
"""


def test_models_dir_versions_and_lru(tmp_path, serve):
    files = {f"models/{name}/{version}/value.txt": f"{name}{version}" for name, version in
             [("a", 1), ("a", 2), ("a", 10), ("b", 1)]}
    files["models/c/value.txt"] = "c-unversioned"
    project = make_project(tmp_path / "multi", MULTI_SPEC, MULTI_PREDICTOR, **files)
    server = serve(project)

    def ask(**params):
        return httpx.post(server.url + "/multi", params=params, json={})

    assert ask(model="a").text == "a10"  # highest number, not highest string
    assert ask(model="a", version="2").text == "a2"
    assert ask(model="b").text == "b1"
    assert ask(model="c").text == "c-unversioned"
    assert ask(model="c", version="1").text == "c-unversioned"
    assert ask(model="a").text == "a10"  # evicted by b and c (cache_size 1): loaded again
    for params, fragment in [({"model": "zzz"}, "'zzz' not found"), ({"model": "a", "version": "3"}, "no version '3'"),
                             ({}, "name one of")]:
        r = ask(**params)
        assert r.status_code == 404 and fragment in r.json()["error"], r.text
    v1 = httpx.post(server.url + "/v1/models/multi:predict", json={"instances": []})  # no model named: 404 too
    assert v1.status_code == 404 and "name one of" in v1.json()["error"]
    assert ask(model="b").text == "b1"
    loads = (project / "loads.txt").read_text().split()
    # c and c@1 are the same entry: one load; a@10 and b were evicted (cache_size 1) and loaded again
    assert loads == ["models/a/10", "models/a/2", "models/b/1", "models/c", "models/a/10", "models/b/1"]
    described = httpx.get(server.url + "/predict").json()["model_metadata"]["models"]
    assert described["a"] == {"versions": ["1", "2", "10"], "loaded": []}
    assert described["b"]["loaded"] == ["1"]


BATCH_PREDICTOR = '''
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload, query_params, headers):
        assert isinstance(payload, list) and len(payload) == len(query_params) == len(headers)
        if any(p.get("fail") for p in payload):
            raise RuntimeError("a poisoned batch")
        return [{"i": p["i"], "q": q.get("q"), "h": h.get("x-i"), "batch": len(payload)}
                for p, q, h in zip(payload, query_params, headers)]
'''


def batching_spec(kind: str, extra: str = "") -> str:
    return f"""
- name: b
  kind: RealtimeAPI
  predictor:
    type: {kind}
    path: predictor.py
    log_level: debug
    threads_per_process: 8
    server_side_batching:
      max_batch_size: 4
      batch_interval: 1h
{extra}
"""


async def concurrent_posts(url: str, bodies: list[dict], route: str = "/b") -> list[httpx.Response]:
    """POST every body at once. Each request holds back the rest of its body until the server has begun
    every request, so it knows that more are coming and batches them together (it runs early when nobody
    is). "Begun": once every head and first chunk is sent, a GET on a new connection is answered. The
    server accepts connections in order and parses whatever is ready on each turn of its event loop, then
    starts the requests parsed in that turn, so the POSTs are counted (`arriving`) by the turn that answers
    the GET at the latest, before the rest of any body is sent."""
    all_started, all_begun = asyncio.Barrier(len(bodies) + 1), asyncio.Event()

    async def held_back(body: dict):
        data = json.dumps(body).encode()
        yield data[:1]
        await all_started.wait()
        await all_begun.wait()
        yield data[1:]

    async def probe() -> None:
        await all_started.wait()
        async with httpx.AsyncClient(base_url=url, timeout=60) as fresh:  # a new connection
            assert (await fresh.get("/healthz")).status_code == 200
        all_begun.set()

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        *responses, _ = await asyncio.gather(*(http.post(route, content=held_back(body),
                                                         params={"q": str(body.get("i"))},
                                                         headers={"x-i": str(body.get("i")),
                                                                  "content-type": "application/json"})
                                               for body in bodies), probe())
        return responses


def test_python_batching_groups_requests_in_order(tmp_path, serve):
    server = serve(make_project(tmp_path / "batch", batching_spec("python"), BATCH_PREDICTOR))
    responses = asyncio.run(concurrent_posts(server.url, [{"i": i} for i in range(4)]))
    assert [r.json() for r in responses] == [{"i": i, "q": str(i), "h": str(i), "batch": 4} for i in range(4)]
    failed = asyncio.run(concurrent_posts(server.url, [{"i": 0}, {"i": 1, "fail": True}, {"i": 2}, {"i": 3}]))
    assert [r.status_code for r in failed] == [500] * 4
    assert all("a poisoned batch" in r.json()["error"] for r in failed)
    # alone in flight: runs at once, not after batch_interval (an hour: waiting for it would time out)
    single = httpx.post(server.url + "/b", json={"i": 9}, timeout=60)
    assert single.json() == {"i": 9, "q": None, "h": None, "batch": 1}
    assert '"POST /b HTTP/1.1" 200' in server.log_text()  # log_level debug: uvicorn's access log is on
    v1 = httpx.post(server.url + "/v1/models/b:predict", json={"i": 5}, timeout=30)
    assert v1.json() == {"i": 5, "q": None, "h": None, "batch": 1}


ONNX_PREDICTOR = '''
class ONNXPredictor:
    def __init__(self, onnx_client):
        self.client = onnx_client

    def predict(self, payload):
        return {"i": payload["i"], "logits": self.client.predict(payload["rows"])[0]}
'''


def test_onnx_client_stacks_concurrent_calls(tmp_path, trained, serve):
    extra = "    models:\n      path: model/mlp.onnx"
    project = make_project(tmp_path / "onnxbatch", batching_spec("onnx", extra), ONNX_PREDICTOR)
    (project / "model").mkdir()
    shutil.copy(trained["onnx"], project / "model" / "mlp.onnx")
    server = serve(project)
    x, expected = np.load(trained["x"])[:5], np.load(trained["expected"])
    slices = [(0, 1), (1, 3), (3, 4), (4, 5)]  # different row counts per request
    responses = asyncio.run(concurrent_posts(server.url, [{"i": i, "rows": x[a:b].tolist()}
                                                          for i, (a, b) in enumerate(slices)]))
    for i, ((a, b), r) in enumerate(zip(slices, responses, strict=False)):
        assert r.json()["i"] == i
        assert np.allclose(r.json()["logits"], expected[a:b], atol=1e-5)
    assert "running a batch of 4" in server.log_text()
