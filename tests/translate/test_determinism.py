"""Same input, same bytes: translation, rendering and the deployment id (bundles: test_package.py)."""
from __future__ import annotations

from pathlib import Path

import yaml

from kserve_bridge.manifest import render
from kserve_bridge.translator import translate
from tests.translate.specs import DEMO_SPEC, SPECS


def dep_id(project_dir: Path) -> str:
    return translate(project_dir)[0]["metadata"]["labels"]["kserve-bridge.io/deployment-id"]


def test_translate_and_render_are_byte_identical() -> None:
    for spec in SPECS.values():
        assert render(translate(spec, storage_uri="s3://b/p")) == render(translate(spec, storage_uri="s3://b/p"))


def test_render_from_a_spec_file_is_byte_identical(project: Path) -> None:
    first = render(translate(project / "cortex.yaml", storage_uri="s3://b/p"))
    assert first == render(translate(project / "cortex.yaml", storage_uri="s3://b/p"))
    assert [d["kind"] for d in yaml.safe_load_all(first)] == ["InferenceService"]


def test_deployment_id_follows_files_and_spec(project: Path) -> None:
    original = dep_id(project)
    assert dep_id(project) == original and len(original) == 12
    (project / "model" / "weights.bin").write_bytes(b"retrained")
    changed_file = dep_id(project)
    assert changed_file != original
    (project / "cortex.yaml").write_text(DEMO_SPEC + "  compute:\n    cpu: 1\n")
    assert dep_id(project) not in (original, changed_file)


def test_ids_differ_per_api_and_override_pins(project: Path) -> None:
    (project / "cortex.yaml").write_text(DEMO_SPEC + DEMO_SPEC.replace("demo", "other"))
    ids = {o["metadata"]["labels"]["kserve-bridge.io/deployment-id"] for o in translate(project)}
    assert len(ids) == 2
    pinned = translate(project, deployment_id="pinned")
    assert {o["metadata"]["labels"]["kserve-bridge.io/deployment-id"] for o in pinned} == {"pinned"}


def test_render_never_emits_anchors() -> None:
    shared = {"drop": ["ALL"]}
    text = render([{"a": shared, "b": shared}])
    assert "&" not in text and "*" not in text and text.count("drop:") == 2
