"""The test double itself, driven by the real `kubernetes` client: the semantics the
other tests rely on (optimistic locking, patch flavours, apply ownership, watch)."""
from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from kserve_bridge.cluster.kube import Kube, Ref, send_patch
from tests.cluster.conftest import isvc

G, V, NS, P = "serving.kserve.io", "v1beta1", "models", "inferenceservices"


def patch(kube: Kube, name: str, body, content_type: str) -> dict:
    """PATCH an InferenceService with `content_type` (on every kubernetes client version we allow)."""
    return send_patch(kube.api.api_client, Ref.isvc(name, NS).path, body, content_type, [])


@pytest.fixture
def kube(kubeconfig):
    return Kube(kubeconfig=str(kubeconfig))


def test_put_with_stale_resource_version_conflicts(kube, fake):
    created = kube.api.create_namespaced_custom_object(G, V, NS, P, isvc("a"))
    stale = dict(created, metadata=dict(created["metadata"]))
    patch(kube, "a", {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json")
    with pytest.raises(ApiException) as err:
        kube.api.replace_namespaced_custom_object(G, V, NS, P, "a", stale)
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        kube.api.create_namespaced_custom_object(G, V, NS, P, isvc("a"))
    assert err.value.status == 409  # AlreadyExists


def test_json_patch_with_test_op(kube, fake):
    kube.api.create_namespaced_custom_object(G, V, NS, P, isvc("a"))
    rv = kube.get(Ref.isvc("a", NS))["metadata"]["resourceVersion"]  # after the controller's status write
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
           {"op": "add", "path": "/spec/predictor/canaryTrafficPercent", "value": 5}]
    out = patch(kube, "a", ops, "application/json-patch+json")
    assert out["spec"]["predictor"]["canaryTrafficPercent"] == 5
    with pytest.raises(ApiException) as err:  # same test op, now stale
        patch(kube, "a", ops, "application/json-patch+json")
    assert err.value.status == 422


def test_apply_drops_fields_its_manager_stopped_applying_only(kube, fake):
    kube.apply(isvc("a", maxReplicas=3))
    kube.update(Ref.isvc("a", NS), lambda o: {"spec": {"predictor": {"canaryTrafficPercent": 10}}})
    kube.apply(isvc("a"))  # no maxReplicas any more
    predictor = fake.isvc("a")["spec"]["predictor"]
    assert "maxReplicas" not in predictor and predictor["canaryTrafficPercent"] == 10
    with pytest.raises(ApiException) as err:  # apply needs a field manager
        patch(kube, "a", isvc("a"), "application/apply-patch+yaml")
    assert err.value.status == 400


def test_spec_writes_keep_status_and_bump_generation(kube, fake):
    kube.apply(isvc("a"))
    assert fake.isvc("a")["metadata"]["generation"] == 1
    patch(kube, "a", {"status": {"url": "forged"}, "spec": {"x": 1}}, "application/merge-patch+json")
    obj = fake.isvc("a")
    assert obj["status"]["url"] == "http://a.models.example.com" and obj["metadata"]["generation"] == 2


def test_watch_streams_changes_then_deletion(kube, fake):
    kube.apply(isvc("a"))
    fake.auto_ready = False

    def change_then_delete() -> None:  # while the watch is open, whatever the machine's load
        fake.set_condition("a", "Ready", "False", "Testing")
        kube.delete(Ref.isvc("a", NS))
    fake.once_watched(change_then_delete)
    seen = []
    with pytest.raises(Exception, match="was deleted"):
        for obj in kube.watch(Ref.isvc("a", NS), timeout=120):
            seen.append([c.get("reason") for c in obj["status"]["conditions"] if c["type"] == "Ready"])
    assert seen[0] == [None] and seen[-1] == ["Testing"]
