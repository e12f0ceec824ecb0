"""modelserver/bundle.py on real files: what the storage initializer left in the model dir against the
manifest `deploy` uploaded (the S3 round trip is in tests/storage/test_upload.py)."""
from __future__ import annotations

import hashlib
import json

from kserve_bridge.contract import BUNDLE_MANIFEST
from modelserver.bundle import bundle_problem


def bundle(tmp_path, files: dict[str, bytes], sha256: bool = True):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    manifest = {"deployment_id": "abc", "files": {n: len(d) for n, d in files.items()}}
    if sha256:
        manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    (tmp_path / BUNDLE_MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


def test_an_intact_bundle_passes_and_python_caches_are_not_extra_files(tmp_path):
    model_dir = bundle(tmp_path, {"predictor.py": b"x = 1\n", "models/m.bin": b"\0" * 10, "requirements.txt": b""})
    (model_dir / "requirements.txt").unlink()  # KServe's S3 download skips empty objects
    (model_dir / "__pycache__").mkdir()
    (model_dir / "__pycache__" / "predictor.cpython-311.pyc").write_bytes(b"cache")
    assert bundle_problem(model_dir) is None


def test_every_changed_missing_or_added_file_is_named(tmp_path):
    model_dir = bundle(tmp_path, {"predictor.py": b"x = 1\n", "models/m.bin": b"\0" * 10, "cortex.yaml": b"[]"})
    (model_dir / "predictor.py").write_bytes(b"x = 2\n")
    (model_dir / "models" / "m.bin").unlink()
    (model_dir / "numpy.py").write_bytes(b"")  # would shadow an import: the project dir is on sys.path
    problem = bundle_problem(model_dir)
    assert problem is not None and problem.endswith(
        "models/m.bin (missing), predictor.py (sha256 differs), numpy.py (not in the manifest); the storage "
        "prefix was changed after upload: deploy again to restore it")
    assert "cortex.yaml" not in problem


def test_no_manifest_or_one_without_sha256s_is_not_checked(tmp_path):
    (tmp_path / "predictor.py").write_bytes(b"x = 1\n")
    assert bundle_problem(tmp_path) is None  # --no-upload, or a local project
    assert bundle_problem(bundle(tmp_path, {"predictor.py": b"x = 1\n"}, sha256=False)) is None
