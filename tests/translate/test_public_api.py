"""The notebook-level API: kserve_bridge.translate(spec) and kserve_bridge.render(objects)."""
import yaml

import kserve_bridge


def test_top_level_translate_and_render():
    spec = [{"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}]
    objects = kserve_bridge.translate(spec)
    assert [o["kind"] for o in objects] == ["InferenceService"]
    docs = list(yaml.safe_load_all(kserve_bridge.render(objects)))
    assert docs == objects
