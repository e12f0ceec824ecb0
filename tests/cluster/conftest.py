"""Fixtures: a fake Kubernetes API over HTTP and a kubeconfig pointing at it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.fake_kube import FakeKube

ISVC_KEY = ("serving.kserve.io", "v1beta1", "models", "inferenceservices")


@pytest.fixture
def fake() -> FakeKube:
    kube = FakeKube().start()
    yield kube
    kube.stop()


@pytest.fixture
def kubeconfig(fake: FakeKube, tmp_path: Path) -> Path:
    return fake.write_kubeconfig(tmp_path / "kubeconfig")


def isvc(name: str, image: str = "example/model:1", deployment_id: str = "abc123", **predictor) -> dict:
    """An InferenceService as the translator emits it (the shape KServe's CRD accepts)."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"kserve-bridge.io/deployment-id": deployment_id},
                     "annotations": {"serving.kserve.io/deploymentMode": "Serverless"}},
        "spec": {"predictor": {"minReplicas": 1, **predictor,
                               "containers": [{"name": "kserve-container", "image": image,
                                               "env": [{"name": "KSERVE_BRIDGE_DEPLOYMENT_ID",
                                                        "value": deployment_id}]}]}},
    }


def _stand_in_objects(spec_source, project_dir, *, namespace, storage_uri=None, image=None):
    """Until kserve_bridge.translate/package exist: one InferenceService per realtime API of the
    real, validated spec, with a deployment id hashed from the project's files."""
    import hashlib

    from kserve_bridge.spec import load_spec
    from kserve_bridge.spec.models import RealtimeAPI

    spec = load_spec(spec_source, project_dir=project_dir)
    digest = hashlib.sha256()
    for path in sorted(Path(project_dir).rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return [isvc(api.name, deployment_id=digest.hexdigest()[:12]) for api in spec.apis
            if isinstance(api, RealtimeAPI)]


@pytest.fixture
def translator(monkeypatch):
    """The real translator when present, else the stand-in above."""
    try:
        from kserve_bridge.package import project_digest  # noqa: F401
        from kserve_bridge.translator import translate  # noqa: F401
    except ImportError:
        monkeypatch.setattr("kserve_bridge.cluster.deploy.objects_for", _stand_in_objects)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Cortex project: cortex.yaml + predictor.py."""
    root = tmp_path / "iris"
    root.mkdir()
    (root / "predictor.py").write_text(
        "class PythonPredictor:\n    def __init__(self, config):\n        self.config = config\n\n"
        "    def predict(self, payload):\n        return {'sum': sum(payload['x'])}\n")
    (root / "cortex.yaml").write_text(
        "- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n")
    return root
