"""Small pure pieces: object references, the canary verdict, status summaries."""
from __future__ import annotations

import pytest

from kserve_bridge.cluster.canary import Thresholds, judge
from kserve_bridge.cluster.kube import Ref
from kserve_bridge.cluster.rollout.metrics import RevisionHealth
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
    assert Ref.of(isvc("a"), "ns").path == "/apis/serving.kserve.io/v1beta1/namespaces/ns/inferenceservices/a"
    config_map = Ref.of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "ns")
    assert config_map.path == "/api/v1/namespaces/ns/configmaps/c"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}
    assert Ref.of(namespace, "ns").path == "/api/v1/namespaces/t"
    with pytest.raises(ClusterError, match="need apiVersion"):
        Ref.of({"kind": "ConfigMap", "metadata": {"name": "c"}}, "ns")


STABLE = RevisionHealth("s", 1000, 2, 40)


@pytest.mark.parametrize("health, stable, verdict, words", [
    (RevisionHealth("r", 99, 0, 10), STABLE, "hold", "only 99 canary requests"),
    (RevisionHealth("r", 1000, 0, 10), RevisionHealth("s", 50, 0, 10), "hold", "only 50 stable requests"),
    (RevisionHealth("r", None, 0, None), STABLE, "hold", "no metrics for the canary revision r"),
    (RevisionHealth("r", 1000, 0, 10), RevisionHealth("s", None, 0, None), "hold", "no metrics for the stable"),
    (RevisionHealth("r", 1000, 7, 10), STABLE, "advance", "error rate 0.70% vs stable 0.20%"),
    (RevisionHealth("r", 1000, 8, 10), STABLE, "rollback", "error rate 0.80% > stable's 0.20% + 0.50%"),
    (RevisionHealth("r", 1000, 11, 10), RevisionHealth("s", 1000, 30, 10), "rollback", "> limit 1.00%"),
    (RevisionHealth("r", 1000, 0, 251), RevisionHealth("s", 1000, 0, 240), "rollback", "p99 251ms > limit 250ms"),
    (RevisionHealth("r", 1000, 0, 61), STABLE, "rollback", "p99 61ms > 1.5 x stable's 40ms"),
    (RevisionHealth("r", 1000, 0, 60), STABLE, "advance", "p99 60ms vs stable 40ms"),
    (RevisionHealth("r", 1000, 0, 19), RevisionHealth("s", 1000, 0, 2), "advance", "p99 19ms"),  # under the floor
    (RevisionHealth("r", 1000, 50, 400), STABLE, "rollback", "; p99 400ms"),
    (RevisionHealth("r", 1000, 0, None), STABLE, "hold", "no latency data"),
    (RevisionHealth("r", 1000, 50, None), STABLE, "rollback", "error rate"),
])
def test_judge(health, stable, verdict, words):
    got, why = judge(health, stable, LIMITS)
    assert got == verdict and words in why


@pytest.mark.parametrize("steps, share, plan", [
    ([10, 25, 50, 100], None, [10, 25, 50]), ([10, 25, 50, 100], 0, [10, 25, 50]),
    ([10, 25, 50, 100], 25, [25, 50]), ([10, 25, 50, 100], 30, [30, 50]), ([10, 50], 60, [60]),
    ([10, 50], 100, []),
])
def test_plan_resumes_from_the_current_share(steps, share, plan):
    from kserve_bridge.cluster.rollout import plan_steps
    assert plan_steps(steps, share) == plan


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
