"""Regenerate examples/<ex>/expected/<kind>-<name>.yaml from every examples/*/cortex.yaml.

Run `python scripts/update_goldens.py` after changing the translator or an example;
tests/translate/test_goldens.py fails until the goldens match. The deployment id is
pinned to `golden` because make_model.py does not write byte-identical model files.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kserve_bridge.manifest import file_name, render  # noqa: E402
from kserve_bridge.translator import translate  # noqa: E402

STORAGE_BUCKET = "gs://kserve-bridge-examples"
GOLDEN_ID = "golden"


def expected_files(example: Path) -> dict[str, str]:
    """file name -> YAML text that `convert` must produce for this example."""
    objects = translate(example, storage_uri=f"{STORAGE_BUCKET}/{example.name}", deployment_id=GOLDEN_ID)
    return {file_name(obj): render([obj]) for obj in objects}


def examples() -> list[Path]:
    return sorted(p.parent for p in (REPO / "examples").glob("*/cortex.yaml"))


def update(example: Path) -> list[str]:
    """Write the goldens of one example, removing stale ones; returns what changed."""
    out = example / "expected"
    out.mkdir(exist_ok=True)
    wanted = expected_files(example)
    changed = []
    for stale in sorted(set(p.name for p in out.glob("*.yaml")) - set(wanted)):
        (out / stale).unlink()
        changed.append(f"removed {out / stale}")
    for name, text in wanted.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(f"wrote {path}")
    return changed


def main() -> int:
    for example in examples():
        for line in update(example):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
