"""Every example end to end: make its model, validate, convert (against its goldens), serve it
locally with `kserve-bridge serve`, and send real predictions over HTTP."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

import httpx
import pytest
import yaml

from tests.examples.local_server import REPO, cli, serving

EXAMPLES = REPO / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "cortex.yaml").is_file())
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VERSICOLOR = {"sepal_length": 5.9, "sepal_width": 2.8, "petal_length": 4.2, "petal_width": 1.3}
VIRGINICA = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}
Serve = Callable[[str], AbstractContextManager[str]]  # serve(api) -> base URL


def post(base: str, path: str, body, **kwargs) -> httpx.Response:
    if isinstance(body, str):
        return httpx.post(base + path, content=body, headers={"Content-Type": "text/plain"}, timeout=60, **kwargs)
    return httpx.post(base + path, json=body, timeout=60, **kwargs)


def golden_options():
    """scripts/update_goldens.py: its pinned deployment id and storage bucket are the goldens' options."""
    spec = importlib.util.spec_from_file_location("update_goldens", REPO / "scripts" / "update_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def made() -> Callable[[str], Path]:
    """Runs an example's make_model.py once per session; returns the example folder."""
    done: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in done:
            result = subprocess.run([sys.executable, "make_model.py"], cwd=EXAMPLES / name, capture_output=True,
                                    text=True, timeout=180)
            assert result.returncode == 0, f"{name}/make_model.py failed:\n{result.stderr[-3000:]}"
            done[name] = EXAMPLES / name
        return done[name]
    return make


def check_iris_sklearn(serve: Serve, example: Path) -> None:
    with serve("iris-classifier") as base:
        answer = post(base, "/iris-classifier", SETOSA)
        assert answer.status_code == 200 and answer.text == "setosa"
        assert answer.headers["content-type"].startswith("text/plain")
        assert post(base, "/predict", [SETOSA, VIRGINICA]).json() == ["setosa", "virginica"]
        kserve_v1 = post(base, "/v1/models/iris-classifier:predict", {"instances": [VERSICOLOR, VIRGINICA]})
        assert kserve_v1.json() == {"predictions": ["versicolor", "virginica"]}


def check_movie_recommendation(serve: Serve, example: Path) -> None:
    import numpy as np

    with np.load(example / "model" / "factors.npz") as data:
        ratings, genres = data["ratings"], data["genres"]
    user = 3
    loved = genres[ratings[user] >= 4]
    favourite = max(set(loved), key=lambda g: int((loved == g).sum()))
    with serve("movie-recommender") as base:
        answer = post(base, "/movie-recommender", {"user_id": user, "n": 5}).json()
        ids = [r["movie_id"] for r in answer["recommendations"]]
        assert answer["user_id"] == user and len(ids) == len(set(ids)) == 5
        assert not ratings[user, ids].any(), "recommended a movie the user already rated"
        assert sum(r["genre"] == favourite for r in answer["recommendations"]) >= 3
        scores = [r["score"] for r in answer["recommendations"]]
        assert scores == sorted(scores, reverse=True)
        assert post(base, "/movie-recommender", {"user_id": 10_000}).status_code == 400


SOLAR = ("Solar panels turn sunlight into electricity. The weather was nice on Tuesday. "
         "Cheap solar panels let households make their own electricity from sunlight. "
         "My cat likes to sleep. Electricity from solar panels is now cheaper than electricity from coal.")


def check_text_summarizer(serve: Serve, example: Path) -> None:
    with serve("text-summarizer") as base:
        answer = post(base, "/text-summarizer", {"text": SOLAR, "sentences": 2}).json()
        assert answer["summary"] == ("Solar panels turn sunlight into electricity. "
                                     "Electricity from solar panels is now cheaper than electricity from coal.")
        assert len(answer["scores"]) == 5 and answer["scores"][3] < answer["scores"][0]
        plain = post(base, "/predict", SOLAR).json()
        assert len(plain["summary"]) < len(SOLAR) and "cat" not in plain["summary"]


def check_onnx_classifier(serve: Serve, example: Path) -> None:
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    rows = [0, 100, 170]
    with serve("wine-classifier") as base:
        answer = post(base, "/wine-classifier", {"rows": x[rows].tolist()}).json()
    labels = ["cultivar-a", "cultivar-b", "cultivar-c"]
    assert [p["label"] for p in answer["predictions"]] == [labels[y[i]] for i in rows]
    assert all(0.5 < p["probability"] <= 1 for p in answer["predictions"])


def check_pytorch_mlp(serve: Serve, example: Path) -> None:
    flowers = [(SETOSA, "setosa"), (VERSICOLOR, "versicolor"), (VIRGINICA, "virginica")] * 4
    with serve("iris-mlp") as base, ThreadPoolExecutor(len(flowers)) as pool:
        answers = list(pool.map(lambda f: post(base, "/iris-mlp", f[0]), flowers))
    assert [a.text for a in answers] == [label for _, label in flowers]


def check_multi_model(serve: Serve, example: Path) -> None:
    import joblib
    from sklearn.datasets import load_diabetes

    x = load_diabetes(return_X_y=True)[0][:2]
    expected = [round(v, 2) for v in joblib.load(example / "models/diabetes/model.joblib").predict(x).tolist()]
    with serve("multi-model") as base:
        iris = post(base, "/multi-model", {"rows": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]},
                    params={"model": "iris"}).json()
        assert iris == {"model": "iris", "predictions": ["setosa", "virginica"]}
        diabetes = post(base, "/multi-model", {"rows": x.tolist()}, params={"model": "diabetes"}).json()
        assert diabetes == {"model": "diabetes", "predictions": expected}
        assert post(base, "/multi-model", {"rows": []}, params={"model": "nope"}).status_code == 400


def check_traffic_splitter(serve: Serve, example: Path) -> None:
    with serve("iris-tree") as base:
        assert post(base, "/iris-tree", VIRGINICA).json() == {"label": "virginica", "variant": "tree"}
    with serve("request-recorder") as base:
        assert [post(base, "/request-recorder", SETOSA).json()["recorded"] for _ in range(2)] == [1, 2]


def check_scale_to_zero(serve: Serve, example: Path) -> None:
    with serve("sentiment") as base:
        assert post(base, "/sentiment", {"text": "a wonderful film, I loved it"}).json()["sentiment"] == "positive"
        assert post(base, "/sentiment", "boring and awful, a waste of time").json()["sentiment"] == "negative"


def check_payload_logging(serve: Serve, example: Path) -> None:
    """Records go to a file; read_records.py pairs them back (the example's README)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp) / "records.jsonl"
        with serving(example, "audited-iris", extra=("--log-requests", str(records))) as base:
            answer = post(base, "/audited-iris", SETOSA, headers={"x-request-id": "r-1", "x-caller": "alice"})
            assert answer.json()["species"] == "setosa"
            assert post(base, "/audited-iris", {"sepal_length": 1}).status_code == 500
        # the server flushed its queue on SIGTERM: four records, the failed call without a response
        shown = subprocess.run([sys.executable, "read_records.py", str(records)], cwd=example, text=True,
                               capture_output=True, timeout=60, check=True).stdout
    assert "caller alice  request id r-1" in shown and '"species": "setosa"' in shown
    assert shown.count("(none: not 200, or mode request)") == 1


CHECKS = {
    "payload-logging": check_payload_logging,
    "iris-sklearn": check_iris_sklearn, "movie-recommendation": check_movie_recommendation,
    "text-summarizer": check_text_summarizer, "onnx-classifier": check_onnx_classifier,
    "pytorch-mlp": check_pytorch_mlp, "multi-model": check_multi_model,
    "traffic-splitter": check_traffic_splitter, "scale-to-zero": check_scale_to_zero,
}


def test_every_example_is_complete_and_checked() -> None:
    assert sorted(CHECKS) == NAMES
    for name in NAMES:
        for required in ("cortex.yaml", "make_model.py", "README.md"):
            assert (EXAMPLES / name / required).is_file(), f"{name} lacks {required}"


@pytest.mark.parametrize("name", NAMES)
def test_validate(name: str) -> None:
    result = cli("validate", f"examples/{name}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")


@pytest.mark.parametrize("name", NAMES)
def test_convert(name: str, tmp_path: Path) -> None:
    result = cli("convert", f"examples/{name}")
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    services = {d["metadata"]["name"]: d["spec"]["predictor"] for d in docs if d["kind"] == "InferenceService"}
    for api in yaml.safe_load((EXAMPLES / name / "cortex.yaml").read_text()):
        if api["kind"] == "RealtimeAPI":
            scaling = api.get("autoscaling", {})
            predictor = services[api["name"]]
            assert (predictor["minReplicas"], predictor["maxReplicas"]) == (
                scaling.get("min_replicas", 1), scaling.get("max_replicas", 100))
        else:
            assert any(d["metadata"]["name"] == api["name"] for d in docs), f"nothing for {api['name']}"
    expected = EXAMPLES / name / "expected"
    if not expected.is_dir():
        pytest.skip(f"examples/{name}/expected/ missing: run python scripts/update_goldens.py")
    goldens = golden_options()
    out = tmp_path / "out"
    result = cli("convert", f"examples/{name}", "-o", str(out), "--deployment-id", goldens.GOLDEN_ID,
                 "--storage-uri", f"{goldens.STORAGE_BUCKET}/{name}")
    assert result.returncode == 0, result.stderr
    want = sorted(p.relative_to(expected) for p in expected.rglob("*") if p.is_file())
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == want
    for rel in want:
        assert (out / rel).read_text() == (expected / rel).read_text(), f"{name}: {rel} differs from golden"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_serve_and_predict(name: str, made: Callable[[str], Path]) -> None:
    example = made(name)
    CHECKS[name](partial(serving, example), example)
