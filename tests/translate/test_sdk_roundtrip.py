"""Every InferenceService reads into the kserve SDK's typed v1beta1 models and back without losing a field."""
from __future__ import annotations

import pytest

from kserve_bridge.translator import translate
from tests.translate.sdk_roundtrip import UnknownField, round_trip
from tests.translate.specs import SPECS


@pytest.mark.parametrize("case", sorted(SPECS))
def test_inference_services_round_trip_through_the_sdk(case: str) -> None:
    services = [o for o in translate(SPECS[case], namespace="ns", image=None) if o["kind"] == "InferenceService"]
    assert services
    for obj in services:
        assert round_trip(obj) == obj


def test_custom_image_round_trips() -> None:
    obj = translate(SPECS["batching-env-config"], image="ghcr.io/x/server:1")[0]
    assert "containers" in obj["spec"]["predictor"]
    assert round_trip(obj) == obj


def test_round_trip_detects_unknown_fields() -> None:
    obj = translate(SPECS["defaults"])[0]
    obj["spec"]["predictor"]["model"]["storageURI"] = "s3://typo"
    with pytest.raises(UnknownField, match="storageURI"):
        round_trip(obj)
