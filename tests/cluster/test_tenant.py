"""Tenant namespaces: every object strict-valid (kubernetes-validate, no ../shared needed), the same as
manifests/base where they overlap and as the kustomize overlay, printed and applied through the CLI."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kserve_bridge import BridgeError
from kserve_bridge.cli import main
from kserve_bridge.translator.tenant import TenantLimits, tenant_objects

kubernetes_validate = pytest.importorskip("kubernetes_validate")
REPO = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.33"


def by_kind(objects: list[dict]) -> dict[str, dict]:
    return {o["kind"]: o for o in objects}


@pytest.mark.parametrize("options", [{}, {"groups": ("ml-team", "ml-admins"), "service_accounts": ()},
                                     {"gpus": 4, "cpu": "64", "memory": "256Gi", "max_cpu": "16"}])
def test_core_objects_are_strict_valid(options):
    core = [o for o in tenant_objects("team-a", **options) if not o["apiVersion"].startswith("security.istio.io")]
    assert {o["kind"] for o in core} >= {"Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding"}
    for obj in core:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_strict_check_rejects_a_typo():
    quota = by_kind(tenant_objects("team-a"))["ResourceQuota"]
    quota["spec"]["hardd"] = quota["spec"].pop("hard")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(quota, K8S_VERSION, strict=True)


def test_defaults_and_options_land_where_kubernetes_reads_them():
    objs = by_kind(tenant_objects("team-a", gpus=2, inference_services=3, default_cpu="100m", max_memory="8Gi"))
    labels = objs["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted" and labels["istio-injection"] == "enabled"
    hard = objs["ResourceQuota"]["spec"]["hard"]
    assert hard == {"requests.cpu": "8", "requests.memory": "32Gi", "limits.memory": "32Gi",
                    "requests.nvidia.com/gpu": "2", "pods": "50",
                    "count/inferenceservices.serving.kserve.io": "3",
                    "count/inferencegraphs.serving.kserve.io": "5"}
    (item,) = objs["LimitRange"]["spec"]["limits"]
    assert item["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}
    assert item["max"] == {"cpu": "4", "memory": "8Gi"}
    assert all(o["metadata"].get("namespace", "team-a") == "team-a" for o in objs.values())
    subjects = objs["RoleBinding"]["subjects"]
    assert subjects == [{"kind": "ServiceAccount", "name": "kserve-bridge-deployer", "namespace": "team-a"}]
    rules = objs["Role"]["rules"]
    assert any("verticalpodautoscalers" in r["resources"] for r in rules)
    assert any("resourcequotas" in r["resources"] and "patch" not in r["verbs"] for r in rules)
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)


def test_istio_policies_and_namespace_match_manifests_base():
    base = {(o["kind"], o["metadata"]["name"]): o
            for f in ("istio-security.yaml", "namespace.yaml")
            for o in yaml.safe_load_all((REPO / "manifests" / "base" / f).read_text())}
    mine = {(o["kind"], o["metadata"]["name"]): o for o in tenant_objects("kserve-bridge")}
    for key in (("PeerAuthentication", "default"), ("AuthorizationPolicy", "kserve-bridge-predictors")):
        assert mine[key]["spec"] == base[key]["spec"]
    assert base[("Namespace", "kserve-bridge")]["metadata"]["labels"].items() <= \
        mine[("Namespace", "kserve-bridge")]["metadata"]["labels"].items()
    assert mine[("AuthorizationPolicy", "kserve-bridge-predictors")]["metadata"]["namespace"] == "kserve-bridge"


def test_kustomize_overlay_builds_the_same_objects(tmp_path):
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    overlay = tmp_path / "team-b"
    shutil.copytree(REPO / "manifests" / "tenant", overlay)
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("team-a", "team-b"))
    built = subprocess.run(["kubectl", "kustomize", str(overlay)], check=True, text=True, capture_output=True,
                           timeout=60).stdout
    assert sorted(yaml.safe_load_all(built), key=str) == sorted(tenant_objects("team-b"), key=str)


@pytest.mark.parametrize("name, options, message", [
    ("Team_A", {}, "DNS-1123 label"),
    ("team-a", {"cpu": "lots"}, "cpu 'lots'"),
    ("team-a", {"default_memory": "1Gi", "max_memory": "512Mi"}, "default_memory (1Gi) must be <= max_memory"),
    ("team-a", {"max_cpu": "16", "cpu": "8"}, "max_cpu (16) must be <= cpu (8)"),
    ("team-a", {"pods": -1}, "pods must be a whole number"),
    ("team-a", {"service_accounts": (), "groups": ()}, "at least one group or service account"),
    ("team-a", {"gpu": 1}, "unknown tenant option.s. gpu; known: cpu, memory, gpus"),
])
def test_bad_limits_are_refused_with_the_reason(name, options, message):
    with pytest.raises(BridgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tenant_objects(name, **options)


def test_limits_object_and_overrides_combine():
    objs = by_kind(tenant_objects("team-a", TenantLimits(gpus=1, pods=9), pods=12))
    assert objs["ResourceQuota"]["spec"]["hard"]["pods"] == "12"
    assert objs["ResourceQuota"]["spec"]["hard"]["requests.nvidia.com/gpu"] == "1"


def test_cli_prints_the_objects(capsys):
    assert main(["tenant", "team-c", "--group", "ml", "--gpus", "1", "--max-apis", "4"]) == 0
    printed = list(yaml.safe_load_all(capsys.readouterr().out))
    assert printed == tenant_objects("team-c", groups=("ml",), service_accounts=(), gpus=1, inference_services=4)
    assert main(["tenant", "team-c", "--memory", "big"]) == 1
    assert "invalid tenant limits: memory 'big'" in capsys.readouterr().err


def test_cli_applies_server_side(fake, kubeconfig, capsys):
    argv = ["tenant", "team-d", "--apply", "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Namespace/team-d applied" in out and "ResourceQuota/kserve-bridge-quota applied (namespace team-d)" in out
    assert fake.objects[("", "v1", "", "namespaces", "team-d")]["metadata"]["labels"]["istio-injection"] == "enabled"
    assert ("security.istio.io", "v1beta1", "team-d", "authorizationpolicies", "kserve-bridge-predictors") \
        in fake.objects
    patches = [r for r in fake.requests if r[0] == "PATCH"]
    assert len(patches) == len(tenant_objects("team-d"))
    assert patches[0][1].startswith("/api/v1/namespaces/team-d?") and "fieldManager=kserve-bridge" in patches[0][1]
    assert all(ctype == "application/apply-patch+yaml" for _, _, ctype in patches)
    versions = {k: o["metadata"]["resourceVersion"] for k, o in fake.objects.items()}
    assert main(argv) == 0  # idempotent: nothing changes on a second apply
    assert versions == {k: o["metadata"]["resourceVersion"] for k, o in fake.objects.items()}


def test_python_api_prints_and_applies(fake, kubeconfig):
    import kserve_bridge
    assert kserve_bridge.tenant_objects("team-e") == tenant_objects("team-e")
    stored = kserve_bridge.create_tenant("team-e", kubeconfig=str(kubeconfig), gpus=1, groups=["ml"])
    assert [o["kind"] for o in stored][:3] == ["Namespace", "ResourceQuota", "LimitRange"]
    quota = fake.objects[("", "v1", "team-e", "resourcequotas", "kserve-bridge-quota")]
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "1"
    binding = fake.objects[("rbac.authorization.k8s.io", "v1", "team-e", "rolebindings", "kserve-bridge-deployer")]
    assert {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ml"} in binding["subjects"]


def test_printing_imports_no_cluster_client():
    """`kserve-bridge tenant NAME` without --apply works where the kubernetes client is not installed."""
    import sys
    code = ("import sys\nfrom kserve_bridge.cli import main\nmain(['tenant', 'team-a'])\n"
            "print('LOADED=' + ','.join(m for m in ('kubernetes', 'kserve', 'torch') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "LOADED="
