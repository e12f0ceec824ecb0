"""The notebook client (`kserve_bridge.client`) against the fake API server."""
from __future__ import annotations

import pytest

import kserve_bridge
from kserve_bridge.cluster.kube import Kube
from kserve_bridge.errors import ClusterError, NotFoundError, SpecError
from kserve_bridge.notebook.project import write_project
from tests.cluster.conftest import ISVC_KEY

SPEC = {"name": "doubler", "kind": "RealtimeAPI", "predictor": {"type": "python", "config": {"factor": 2}}}


class Doubler:
    """A Cortex predictor defined in a notebook-like module."""

    def __init__(self, config):
        self.factor = config["factor"]

    def predict(self, payload):
        return [x * self.factor for x in payload]


@pytest.fixture
def api(kubeconfig):
    return kserve_bridge.client(kubeconfig=str(kubeconfig))


def test_client_is_lazy_export_and_uses_context_namespace(kubeconfig):
    c = kserve_bridge.client(kubeconfig=str(kubeconfig))
    assert c.namespace == "models"
    assert kserve_bridge.client(kubeconfig=str(kubeconfig), context="other").namespace == "other"
    assert kserve_bridge.client(kubeconfig=str(kubeconfig), namespace="x").namespace == "x"


def test_in_a_pod_without_kubeconfig_the_service_account_is_used(monkeypatch, tmp_path):
    """A pipeline step in a pod (Kubeflow): no kubeconfig, so the pod's service account and namespace."""
    from kubernetes.config import incluster_config

    from kserve_bridge.cluster import kube as kube_module
    files = {"token": "pod-token", "ca.crt": "-----BEGIN CERTIFICATE-----\n", "namespace": "pipelines\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setattr(kube_module, "POD_NAMESPACE_FILE", str(tmp_path / "namespace"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    kube = Kube()
    assert (kube.host, kube.namespace) == ("https://10.0.0.1:443", "pipelines")
    assert any("pod-token" in key for key in kube.api.api_client.configuration.api_key.values())
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))  # a kubeconfig named: it wins, even in a pod
    with pytest.raises(ClusterError, match="cannot load kubeconfig"):
        Kube()


def test_bad_kubeconfig_is_a_cluster_error(tmp_path, kubeconfig):
    (tmp_path / "garbage").write_text("[not: a kubeconfig\n")
    for path in (tmp_path / "missing", tmp_path / "garbage"):
        with pytest.raises(ClusterError, match="cannot load kubeconfig"):
            kserve_bridge.client(kubeconfig=str(path))
    with pytest.raises(ClusterError, match="cannot load kubeconfig"):
        kserve_bridge.client(kubeconfig=str(kubeconfig), context="no-such-context")


def test_create_api_with_predictor_class_is_deterministic(api, fake, tmp_path):
    status = api.create_api(SPEC, predictor=Doubler, requirements=["numpy>=1.26"], wait=True, timeout=120,
                            upload=False)
    assert status.ready and status.name == "doubler"
    first = fake.isvc("doubler")
    deployment_id = first["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert status.deployment_id == deployment_id
    again = api.create_api(SPEC, predictor=Doubler, requirements=["numpy>=1.26"], upload=False)
    assert again.deployment_id == deployment_id
    assert fake.isvc("doubler")["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_written_project_holds_module_source_requirements_and_spec(tmp_path):
    root = write_project(SPEC, Doubler, ["numpy>=1.26"], root=tmp_path)
    assert root == write_project(SPEC, Doubler, ["numpy>=1.26"], root=tmp_path)
    assert root != write_project(SPEC, Doubler, ["numpy>=2"], root=tmp_path)
    source = (root / "predictor.py").read_text()
    assert "class Doubler:" in source and "import pytest" in source  # the whole module
    assert "\nclass PythonPredictor(Doubler):\n" in source
    assert (root / "requirements.txt").read_text() == "numpy>=1.26\n"
    from kserve_bridge.spec import load_spec
    spec = load_spec(root / "cortex.yaml")
    assert spec.apis[0].predictor.path == "predictor.py"
    # the predictor really runs from the written file
    namespace: dict = {}
    exec(compile(source, str(root / "predictor.py"), "exec"), namespace)
    assert namespace["PythonPredictor"]({"factor": 3}).predict([1, 2]) == [3, 6]


def test_create_api_from_project_dir(api, fake, project):
    spec = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    status = api.create_api(spec, project_dir=project, upload=False)
    assert status.name == "iris" and fake.isvc("iris") is not None


def test_get_list_patch_delete(api, fake, project):
    spec = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    with pytest.raises(NotFoundError):
        api.patch_api(spec, project_dir=project, upload=False)
    assert fake.isvc("iris") is None
    api.create_api(spec, project_dir=project, upload=False)
    api.create_api(dict(spec, name="iris2"), project_dir=project, upload=False)
    assert [s.name for s in api.list_apis()] == ["iris", "iris2"]
    status = api.get_api("iris")
    assert status.ready and status.url == "http://iris.models.example.com"
    assert [t.revision for t in status.traffic] == ["iris-predictor-00001"]
    (project / "predictor.py").write_text((project / "predictor.py").read_text() + "# v2\n")
    patched = api.patch_api(spec, project_dir=project, upload=False)
    assert patched.deployment_id != status.deployment_id
    api.delete_api("iris")
    assert [s.name for s in api.list_apis()] == ["iris2"]
    with pytest.raises(NotFoundError):
        api.get_api("iris")
    with pytest.raises(NotFoundError):
        api.delete_api("iris")


def test_invalid_api_spec_raises_spec_error_and_writes_nothing(api, fake):
    with pytest.raises(SpecError):
        api.create_api({"kind": "RealtimeAPI"}, predictor=Doubler, upload=False)
    with pytest.raises(SpecError):
        api.create_api({"name": "x", "kind": "RealtimeAPI", "predictor": {"type": "nope"}}, predictor=Doubler,
                       upload=False)
    assert not [r for r in fake.requests if r[0] != "GET"]


def test_conflict_on_status_update_is_not_lost(api, fake, project):
    """A write by someone else between our GET and apply does not break create_api (apply has no RV)."""
    spec = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    api.create_api(spec, project_dir=project, upload=False)
    fake.before_next_write(lambda: fake.touch(ISVC_KEY + ("iris",), "concurrent"))
    (project / "predictor.py").write_text((project / "predictor.py").read_text() + "# v3\n")
    api.patch_api(spec, project_dir=project, upload=False)
    assert fake.isvc("iris")["metadata"]["labels"]["other-writer"] == "concurrent"
