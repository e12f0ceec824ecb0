"""Fixtures: a fake Kubernetes API over HTTP and a kubeconfig pointing at it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.fake_kube import FakeKube
from tests.cluster.recorded import recorded  # noqa: F401  (a fixture for the rollout tests)

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
    """A minimal InferenceService (valid against KServe's CRD) for tests that start from objects."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"kserve-bridge.io/deployment-id": deployment_id},
                     "annotations": {"serving.kserve.io/deploymentMode": "Serverless"}},
        "spec": {"predictor": {"minReplicas": 1, **predictor,
                               "containers": [{"name": "kserve-container", "image": image,
                                               "env": [{"name": "KSERVE_BRIDGE_DEPLOYMENT_ID",
                                                        "value": deployment_id}]}]}},
    }


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
