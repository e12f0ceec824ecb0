"""RawDeployment pods drain with a delay (the server reads KSERVE_BRIDGE_DRAIN_DELAY_S); Knative's
queue-proxy drains Serverless pods itself (tests/modelserver/test_drain.py runs the server side)."""
from __future__ import annotations

import pytest

from kserve_bridge.contract import DRAIN_DELAY_ENV, RAW_DEPLOYMENT_DRAIN_DELAY_S
from kserve_bridge.translator import translate
from tests.translate.specs import api


@pytest.mark.parametrize("mode, delay", [("RawDeployment", str(RAW_DEPLOYMENT_DRAIN_DELAY_S)), ("Serverless", None)])
@pytest.mark.parametrize("image", [None, "registry.example.com/custom:1"], ids=["runtime", "custom image"])
def test_raw_deployment_pods_get_a_drain_delay(mode, delay, image):
    predictor = translate([api(kserve={"deployment_mode": mode})], image=image)[0]["spec"]["predictor"]
    container = predictor["containers"][0] if "containers" in predictor else predictor["model"]
    assert {e["name"]: e["value"] for e in container["env"]}.get(DRAIN_DELAY_ENV) == delay
