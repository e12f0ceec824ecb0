"""The runtime table, the manifests in manifests/base and the image build script agree."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kserve_bridge.runtimes import BY_NAME, RUNTIMES, VERSION
from kserve_bridge.translator.serving_runtime import cluster_serving_runtime

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "manifests" / "base" / "serving-runtimes.yaml"


def built_images(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "build_images.py"), "--dry-run", *args],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split(" -t ", 1)[1].split()[0] for line in out.splitlines() if line.startswith("+ docker build")]


def test_the_checked_in_runtimes_match_the_table() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import update_runtimes
    assert MANIFEST.read_text() == update_runtimes.expected(), "run python scripts/update_runtimes.py"
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    assert [d["metadata"]["name"] for d in docs] == [rt.name for rt in RUNTIMES]


def test_every_image_a_runtime_names_is_built_by_the_script() -> None:
    images = built_images()
    manifest_images = {c["image"] for d in yaml.safe_load_all(MANIFEST.read_text()) if d
                       for c in d["spec"]["containers"]}
    assert manifest_images == set(images) and len(images) == len(RUNTIMES)
    assert all(image.startswith(f"ghcr.io/kserve-bridge/modelserver:{VERSION}-") for image in images)


def test_the_build_script_builds_gpu_images_with_the_gpu_builds(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "build_images.py"), "--dry-run", "--push",
                          "--registry", "registry.example.com/ml", "--only", "onnx-gpu", "--only", "torch-gpu"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    assert out == [
        f"+ docker build --build-arg EXTRAS=sklearn,torch --build-arg ACCEL=gpu -t "
        f"registry.example.com/ml/modelserver:{VERSION}-torch-gpu {REPO}",
        f"+ docker push registry.example.com/ml/modelserver:{VERSION}-torch-gpu",
        f"+ docker build --build-arg EXTRAS=sklearn,onnx-gpu --build-arg ACCEL=gpu -t "
        f"registry.example.com/ml/modelserver:{VERSION}-onnx-gpu {REPO}",
        f"+ docker push registry.example.com/ml/modelserver:{VERSION}-onnx-gpu",
    ]
    bad = subprocess.run([sys.executable, str(REPO / "scripts" / "build_images.py"), "--dry-run", "--only", "tpu"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown tag(s) tpu" in bad.stderr


def test_every_extra_an_image_installs_exists() -> None:
    import tomllib
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for rt in RUNTIMES:
        assert set(rt.extras.split(",")) <= set(extras), rt.name


def test_gpu_runtimes_ask_for_no_gpu_and_are_never_auto_selected() -> None:
    for rt in RUNTIMES:
        manifest = cluster_serving_runtime(rt)
        resources = manifest["spec"]["containers"][0]["resources"]
        assert not any("gpu" in key for part in resources.values() for key in part)
        if rt.accelerator == "gpu":
            assert not any(f["autoSelect"] for f in manifest["spec"]["supportedModelFormats"])


def test_one_priority_per_auto_selected_format() -> None:
    """KServe picks among auto-selecting runtimes by priority: no two may tie on a format."""
    seen: dict[tuple[str, int | None], str] = {}
    for rt in RUNTIMES:
        for fmt in cluster_serving_runtime(rt)["spec"]["supportedModelFormats"]:
            if fmt["autoSelect"]:
                key = (fmt["name"], fmt.get("priority"))
                assert key not in seen, f"{rt.name} and {seen[key]} tie on {key}"
                seen[key] = rt.name
    assert seen[("kserve-bridge", None)] == "kserve-bridge"
    assert BY_NAME["kserve-bridge"].frameworks == ("sklearn", "torch", "onnx", "tensorflow")


def test_kustomize_points_every_runtime_at_another_registry(tmp_path: Path) -> None:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    overlay = REPO / "manifests" / "overlays" / "registry"
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    images = [c["image"] for d in yaml.safe_load_all(out) if d and d["kind"] == "ClusterServingRuntime"
              for c in d["spec"]["containers"]]
    assert len(images) == len(RUNTIMES)
    assert all(i.startswith(f"registry.example.com/ml/modelserver:{VERSION}-") for i in images)
