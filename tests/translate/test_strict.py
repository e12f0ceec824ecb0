"""Every translated object, and the cluster manifests, pass strict validation: in any clone through the
packaged schemas (tests/strict.py), and through ../shared's kube-apiserver-like validator when present."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kserve_bridge.manifest import render
from kserve_bridge.translator import translate
from tests.strict import UNCHECKED, assert_strict, problems
from tests.translate.specs import SPECS

REPO = Path(__file__).resolve().parents[2]


def strict_validate(shared_dir: Path, text: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), "-"], input=text, text=True,
                          capture_output=True, timeout=60)


def kustomize_build() -> str:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    return subprocess.run(["kubectl", "kustomize", str(REPO / "manifests" / "base")], check=True, text=True,
                          capture_output=True, timeout=60).stdout


def test_all_specs_pass_packaged_strict_validation() -> None:
    objects = [o for spec in SPECS.values() for o in translate(spec, namespace="team-a", storage_uri="s3://b/p")]
    assert assert_strict(objects) == len([o for o in objects if o["kind"] not in UNCHECKED]) > len(SPECS)


def test_packaged_validation_catches_broken_objects() -> None:
    """Guards the test above: unknown fields and wrong types are refused, for KServe and core kinds."""
    isvc = translate(SPECS["defaults"])[0]
    isvc["spec"]["predictor"]["minReplica"] = 1
    assert "minReplica" in " ".join(problems(isvc))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "lables": {}}}
    assert "lables" in " ".join(problems(namespace))
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
            "rules": [{"verbs": "get", "apiGroups": [""], "resources": ["pods"]}]}
    assert problems(role)


def test_manifests_pass_packaged_strict_validation() -> None:
    objects = list(yaml.safe_load_all(kustomize_build()))
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ClusterServingRuntime", "Role", "RoleBinding", "ServiceAccount"} <= kinds
    assert assert_strict(objects) >= 5


def test_all_specs_pass_strict_validation(shared_dir: Path) -> None:
    docs = [render(translate(spec, namespace="team-a", storage_uri=f"s3://bucket/{case}"))
            for case, spec in SPECS.items()]
    result = strict_validate(shared_dir, "".join(docs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{sum(d.count('---') for d in docs)} accepted, 0 rejected" in result.stdout


def test_validator_catches_a_broken_object(shared_dir: Path) -> None:
    """Guards the test above: the validator really rejects an unknown field."""
    obj = translate(SPECS["defaults"])[0]
    obj["spec"]["predictor"]["minReplica"] = 1
    assert strict_validate(shared_dir, render([obj])).returncode == 1


def test_manifests_pass_strict_validation(shared_dir: Path) -> None:
    result = strict_validate(shared_dir, kustomize_build())
    assert result.returncode == 0, result.stdout + result.stderr


def test_kustomize_builds_the_cluster_setup() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(kustomize_build())}
    runtime = objects[("ClusterServingRuntime", "kserve-bridge")]
    assert "namespace" not in runtime["metadata"]
    assert {"name": "kserve-bridge", "version": "1", "autoSelect": True} in runtime["spec"]["supportedModelFormats"]
    container = runtime["spec"]["containers"][0]
    assert container["args"][:4] == ["--model_dir", "/mnt/models", "--model_name", "{{.Name}}"]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    ns = objects[("Namespace", "kserve-bridge")]["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["istio-injection"] == "enabled"
    for kind in ("ServiceAccount", "Role", "RoleBinding", "PeerAuthentication", "AuthorizationPolicy", "PodMonitor"):
        assert any(k == kind and o["metadata"]["namespace"] == "kserve-bridge" for (k, _), o in objects.items()), kind
    assert objects[("PeerAuthentication", "default")]["spec"]["mtls"]["mode"] == "STRICT"
    rules = objects[("Role", "kserve-bridge-deployer")]["rules"]
    assert {"inferenceservices", "inferencegraphs"} <= set(rules[0]["resources"])
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)
