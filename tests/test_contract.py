"""The seam between kserve_bridge and modelserver (issue 18): every part that names predictor kinds or
the pod interface takes it from kserve_bridge/contract.py, and what the contract promises holds."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import get_args

import pytest
import tomllib
import yaml

from kserve_bridge import contract, runtimes
from kserve_bridge.contract import (
    HTTP_PORT,
    MAX_PAYLOAD_BYTES,
    MODEL_DIR,
    PREDICTOR_KINDS,
    REMOTE_SCHEMES,
    PredictorType,
    is_remote,
    server_args,
)
from kserve_bridge.errors import SpecError
from kserve_bridge.notebook.project import CLASS_NAMES
from kserve_bridge.spec import load_spec
from kserve_bridge.spec.schema import spec_schema
from kserve_bridge.translator import Record
from kserve_bridge.translator.inference_service import inference_service
from kserve_bridge.translator.serving_runtime import cluster_serving_runtime
from tests.spec.helpers import api, problems

REPO = Path(__file__).resolve().parent.parent
EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_the_table_is_the_predictor_type_of_spec_schema_and_settings() -> None:
    assert get_args(PredictorType) == tuple(PREDICTOR_KINDS)
    schema_types = spec_schema()["$defs"]["Predictor"]["properties"]["type"]["enum"]
    assert sorted(schema_types) == sorted(PREDICTOR_KINDS)
    assert set(runtimes.FRAMEWORK_OF_PREDICTOR_TYPE) == set(PREDICTOR_KINDS)


@pytest.mark.parametrize("kind", PREDICTOR_KINDS.values(), ids=list(PREDICTOR_KINDS))
def test_every_part_agrees_with_the_predictor_kind(kind: contract.PredictorKind, tmp_path) -> None:
    from modelserver import backends
    from modelserver.predictor import instantiate, load_predictor_class

    # the loader loads the kind's class and hands it the client under the kind's argument name;
    # the notebook writer names the class the same way
    (tmp_path / "predictor.py").write_text(
        f"class {kind.class_name}:\n    def __init__(self, config, {kind.client_arg}):\n"
        f"        self.client = {kind.client_arg}\n\n    def predict(self, payload):\n        return payload\n")
    cls = load_predictor_class(tmp_path / "predictor.py", kind.type)
    client = object()
    assert cls.__name__ == CLASS_NAMES[kind.type] == kind.class_name
    assert instantiate(cls, {}, client).client is client
    # the predictor check: a constructor that asks for the client without models is refused exactly
    # when the kind's client needs models (a class that loads its own model may go without)
    (tmp_path / "cortex.yaml").write_text(yaml.safe_dump([api(predictor={"type": kind.type})]))
    if kind.needs_models:
        with pytest.raises(SpecError, match=f"asks for {kind.client_arg}, which needs predictor.models"):
            load_spec(tmp_path)
    else:
        assert load_spec(tmp_path).realtime[0].predictor.type == kind.type
    with_key = api(predictor={"type": kind.type, "models": {"path": "s3://b/m", "signature_key": "serving"}})
    if kind.signature_key:
        load_spec(with_key)
    else:
        assert any("signature_key applies to" in p for p in problems(with_key))
    # the backend exists, its framework is a runtime's, and the pip extra it names exists
    if kind.backend is not None:
        assert importlib.util.find_spec(f"modelserver.backends.{kind.backend}") is not None
        assert backends.EXTRA[kind.backend] == kind.framework
        assert kind.framework in EXTRAS and kind.framework in runtimes.FRAMEWORKS
        assert runtimes.find({kind.framework}, "cpu") is not None
    assert runtimes.FRAMEWORK_OF_PREDICTOR_TYPE[kind.type] == kind.framework
    # a tensor client runs the models itself, so it needs models and a backend to load them
    assert not kind.tensor_client or (kind.needs_models and kind.backend is not None)


# --- the pod interface -----------------------------------------------------------------------------

def test_serving_runtimes_and_inference_service_run_the_server_args() -> None:
    for rt in runtimes.RUNTIMES:
        container = cluster_serving_runtime(rt)["spec"]["containers"][0]
        assert container["args"] == server_args("{{.Name}}")
        assert container["ports"] == [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}]
        assert container["readinessProbe"]["httpGet"]["port"] == HTTP_PORT
    spec = load_spec(api(predictor={"image": "example.com/custom:1"}))
    isvc = inference_service(spec.realtime[0], Record("iris"), namespace=None, storage_uri="s3://b/p",
                             deployment_id="d")
    container = isvc["spec"]["predictor"]["containers"][0]
    assert container["args"] == server_args("iris") == ["--model_dir", MODEL_DIR, "--model_name", "iris",
                                                        "--http_port", str(HTTP_PORT)]


def test_dockerfile_runs_the_server_args() -> None:
    from tests.test_dockerfile import STAGES
    last = dict(STAGES[-1])
    assert json.loads(last["CMD"]) == server_args()
    assert last["EXPOSE"] == str(HTTP_PORT)


def test_server_defaults_are_the_contract(monkeypatch) -> None:
    monkeypatch.delenv(contract.PORT_ENV, raising=False)
    monkeypatch.delenv(contract.MODEL_DIR_ENV, raising=False)
    from modelserver.__main__ import parse_args
    args = parse_args([])
    assert (args.model_dir, args.http_port, args.max_payload_bytes) == (MODEL_DIR, HTTP_PORT, MAX_PAYLOAD_BYTES)


def test_serve_runs_the_server_args(tmp_path, monkeypatch) -> None:
    (tmp_path / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n        "
                                           "return payload\n")
    (tmp_path / "cortex.yaml").write_text("- name: echo\n  kind: RealtimeAPI\n  predictor:\n    type: python\n"
                                          "    path: predictor.py\n")
    ran = {}
    monkeypatch.setattr("kserve_bridge.cli.serve.run_server", lambda argv, env: ran.update(argv=argv, env=env))
    monkeypatch.setenv(contract.SETTINGS_ENV, contract.ServerSettings(  # inherited: serve replaces it
        api_name="other", predictor_type="python", predictor_path="other.py", endpoint="/other").to_env()[
        contract.SETTINGS_ENV])
    from kserve_bridge.cli import main
    assert main(["serve", str(tmp_path), "--port", "9123"]) == 0
    assert ran["argv"][:-2] == server_args("echo", str(tmp_path.resolve()), 9123)
    # The server gets this spec's settings, as in the pod (it need not parse cortex.yaml again).
    assert contract.ServerSettings.from_env(ran["env"]) == \
        contract.ServerSettings.from_api(load_spec(tmp_path).get("echo"))


# --- remote model locations ----------------------------------------------------------------------

FETCHED = {  # one location per supported scheme -> the kserve_storage method that fetches it
    "s3://bucket/models/iris": "_download_s3",
    "gs://bucket/models/iris": "_download_gcs",
    "https://example.com/models/iris.tar.gz": "_download_from_uri",
    "http://example.com/models/iris.tar.gz": "_download_from_uri",
    "hf://org/model": "_download_hf",
    "https://account.blob.core.windows.net/container/iris": "_download_azure_blob",
}


def test_every_remote_scheme_is_sampled() -> None:
    assert {loc.split("://")[0] for loc in FETCHED} == set(REMOTE_SCHEMES)


@pytest.mark.parametrize("location", [*FETCHED, "azure://container/iris", "pvc://claim/iris", "S3://bucket/x"])
def test_is_remote_means_the_server_can_fetch_it(location, tmp_path, monkeypatch) -> None:
    """Checked against KServe's storage library itself: its dispatch is stubbed, nothing is downloaded."""
    storage = pytest.importorskip("kserve_storage").Storage
    called = []
    for method in set(FETCHED.values()):
        monkeypatch.setattr(storage, method, staticmethod(lambda *a, _m=method, **k: called.append(_m) or a[1]))
    if is_remote(location):
        storage.download(location, out_dir=str(tmp_path))
        assert called == [FETCHED[location]]
    else:
        with pytest.raises(Exception, match="Cannot recognize storage type"):
            storage.download(location, out_dir=str(tmp_path))


@pytest.mark.parametrize("field", ["path", "dir", "paths"])
def test_a_scheme_the_server_cannot_fetch_is_a_validate_error(field) -> None:
    location = "azure://container/models/iris"
    models = {"paths": [{"name": "a", "path": location}]} if field == "paths" else {field: location}
    found = problems(api(predictor={"models": models}))
    assert len(found) == 1
    assert "cannot fetch azure:// locations" in found[0] and "s3://, gs://" in found[0]
    assert "https://ACCOUNT.blob.core.windows.net/" in found[0]
    load_spec(api(predictor={"models": {field: "s3://bucket/iris"} if field != "paths"
                             else {"paths": [{"name": "a", "path": "s3://bucket/iris"}]}}))
