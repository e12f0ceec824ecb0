"""Small pure pieces: object references, the canary verdict, status summaries."""
from __future__ import annotations

import pytest

from kserve_bridge.cluster.canary import Thresholds, judge
from kserve_bridge.cluster.kube import Ref
from kserve_bridge.cluster.metrics import RevisionHealth
from kserve_bridge.cluster.status import summarize
from kserve_bridge.errors import ClusterError
from tests.cluster.conftest import isvc

LIMITS = Thresholds(max_error_rate=0.01, max_p99_ms=250, min_requests=100)


def test_ref_of_custom_objects():
    assert Ref.of(isvc("a"), "ns") == Ref("serving.kserve.io", "v1beta1", "inferenceservices", "ns", "a")
    graph = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
             "metadata": {"name": "g", "namespace": "other"}}
    assert Ref.of(graph, "ns").plural == "inferencegraphs" and Ref.of(graph, "ns").namespace == "other"
    vs = {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": {"name": "v"}}
    assert Ref.of(vs, "ns").plural == "virtualservices"
    with pytest.raises(ClusterError, match="only API-group objects"):
        Ref.of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "ns")


@pytest.mark.parametrize("health, verdict, words", [
    (RevisionHealth("r", 99, 0, 10), "hold", "only 99 canary requests"),
    (RevisionHealth("r", 1000, 10, 10), "advance", "error rate 1.00% <= 1.00%"),
    (RevisionHealth("r", 1000, 11, 10), "rollback", "error rate 1.10% > 1.00%"),
    (RevisionHealth("r", 1000, 0, 251), "rollback", "p99 251ms > 250ms"),
    (RevisionHealth("r", 1000, 50, 400), "rollback", "; p99 400ms"),
    (RevisionHealth("r", 1000, 0, None), "hold", "no latency data"),
    (RevisionHealth("r", 1000, 50, None), "rollback", "error rate"),
])
def test_judge(health, verdict, words):
    got, why = judge(health, LIMITS)
    assert got == verdict and words in why


def test_summarize_without_status():
    s = summarize(isvc("a"))
    assert (s.ready, s.state, s.url, s.traffic, s.canary, s.split()) == (None, "Unknown", None, [], None, "-")
    assert s.deployment_id == "abc123"


def test_test_objects_pass_packaged_strict_validation():
    """The InferenceServices the tests apply are ones the kserve SDK's models accept (any clone)."""
    from tests.strict import assert_strict
    assert assert_strict([isvc("iris"), isvc("canary", canaryTrafficPercent=10, maxReplicas=3)]) == 2


def test_test_objects_are_valid_kserve_objects(shared_dir, tmp_path):
    """The InferenceServices the tests apply are ones a real API server would accept."""
    import subprocess

    import yaml
    path = tmp_path / "isvc.yaml"
    path.write_text(yaml.safe_dump_all([isvc("iris"), isvc("canary", canaryTrafficPercent=10, maxReplicas=3)]))
    run = subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
