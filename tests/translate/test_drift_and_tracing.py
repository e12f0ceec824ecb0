"""kserve.monitoring.drift: validate checks the reference, convert carries bins and shares (not the data);
kserve.tracing: the standard OTEL_* variables."""
from __future__ import annotations

import json
import math

import pytest
import yaml

from kserve_bridge.contract import MISSING_BIN, OTHER_BIN
from kserve_bridge.drift import DriftReferenceError, drift_features
from kserve_bridge.spec.models import Drift
from kserve_bridge.translator import explain, translate
from tests.spec.helpers import api, project, run_cli

DRIFT = {"reference": "ref.csv", "features": ["age", "city", "prediction"], "bins": 4}


def write(tmp_path, reference: str, drift: dict = DRIFT):
    (tmp_path / "ref.csv").write_text(reference)
    return project(tmp_path, yaml.safe_dump([api(kserve={"monitoring": {"drift": drift}})]))


def reference_rows(n: int = 100) -> str:
    return "age,city,prediction\n" + "".join(f"{i},{'a' if i % 2 else 'b' if i % 3 else 'c'},{i % 2}\n"
                                              for i in range(n))


def test_numbers_get_quantile_bins_strings_and_the_prediction_categories(tmp_path):
    age, city, pred = drift_features(Drift(**DRIFT), write(tmp_path, reference_rows() + ",,\n"))
    assert age.edges == [24, 49, 74] and age.bins == ["(-inf,24]", "(24,49]", "(49,74]", "(74,+inf)", MISSING_BIN]
    assert age.reference == [pytest.approx(25 / 101, abs=1e-6)] * 4 + [pytest.approx(1 / 101, abs=1e-6)]
    assert city.categories == ["a", "b", "c"] and city.bins[-2:] == [OTHER_BIN, MISSING_BIN]
    assert pred.categories == ["0", "1"]  # the prediction is categorical even when numeric
    for feature in (age, city, pred):
        assert math.isclose(sum(feature.reference), 1, abs_tol=1e-5)
    assert (age.bin_of(24), age.bin_of(24.01), age.bin_of("80"), age.bin_of("x"), age.bin_of(None),
            age.bin_of(True)) == (0, 1, 3, 4, 4, 4)
    assert (pred.bin_of(1.0), pred.bin_of("1"), pred.bin_of(7), pred.bin_of(None)) == (1, 1, 2, 3)


def test_bins_bound_the_categories(tmp_path):
    text = "age,city,prediction\n" + "".join(f"1,c{i % 9},x\n" for i in range(90))
    city = drift_features(Drift(**DRIFT), write(tmp_path, text))[1]
    assert len(city.bins) == 4 + 2


@pytest.mark.parametrize("reference,message", [
    ("age,city\n1,a\n", "has no column 'prediction'"),
    ("age,city,prediction\n", "has no rows"),
    ("age,city,prediction\n1,a\n", "ref.csv:2: 2 fields, the header has 3"),
])
def test_validate_reports_a_bad_reference_with_its_path(tmp_path, reference, message):
    code, out = run_cli(["validate", str(write(tmp_path, reference))])
    assert code == 2 and "kserve.monitoring.drift.reference" in out and message in out, out


def test_validate_reports_a_missing_or_foreign_reference(tmp_path):
    proj = write(tmp_path, reference_rows(), {**DRIFT, "reference": "../elsewhere.csv"})
    code, out = run_cli(["validate", str(proj)])
    assert code == 2 and "escapes the project directory" in out
    (tmp_path / "ref.json").write_text("{}")
    with pytest.raises(DriftReferenceError, match="must be a .csv or .parquet"):
        drift_features(Drift(**{**DRIFT, "reference": "ref.json"}), tmp_path)


def test_parquet_reference(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    pq.write_table(pa.table({"age": list(range(100)), "city": ["a"] * 100, "prediction": ["y"] * 100}),
                   tmp_path / "ref.parquet")
    age, city, _ = drift_features(Drift(**{**DRIFT, "reference": "ref.parquet"}), tmp_path)
    assert age.edges == [24, 49, 74] and city.reference == [1.0, 0, 0]


def test_convert_carries_bins_and_shares_not_the_data(tmp_path):
    proj = write(tmp_path, reference_rows(1000))
    isvc = translate(proj, deployment_id="d1")[0]
    env = {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}
    drift = json.loads(env["KSERVE_BRIDGE_SETTINGS"])["drift"]
    assert [f["name"] for f in drift] == ["age", "city", "prediction"]
    assert drift[1]["reference"] == [0.5, 0.333, 0.167, 0, 0] and drift[2]["key"] is None
    assert len(env["KSERVE_BRIDGE_SETTINGS"]) < 2000  # 1000 reference rows stay out of the pod
    text = explain(proj, deployment_id="d1")
    assert "kserve.monitoring.drift" in text and "3 features, 14 bins" in text


def test_drift_threshold_reaches_the_alert_thresholds():
    isvc = translate([api(kserve={"alerts": {"drift_psi": 0.1}})], deployment_id="d1")[0]
    env = {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}
    assert json.loads(env["KSERVE_BRIDGE_ALERTS"])["drift_psi"] == 0.1


def test_tracing_becomes_the_standard_otel_variables():
    isvc = translate([api(kserve={"tracing": {"endpoint": "http://otel.observability:4318/", "sample_ratio": 0.01}},
                          predictor={"type": "python", "path": "predictor.py",
                                     "env": {"OTEL_SERVICE_NAME": "mine"}})], deployment_id="d1")[0]
    env = {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}
    assert {k: v for k, v in env.items() if k.startswith("OTEL_")} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel.observability:4318", "OTEL_SERVICE_NAME": "mine",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01",
        "OTEL_RESOURCE_ATTRIBUTES": "service.version=d1"}
    untraced = translate([api()], deployment_id="d1")[0]["spec"]["predictor"]["model"]["env"]
    assert not [e for e in untraced if e["name"].startswith("OTEL_")]


def test_tracing_endpoint_must_be_http():
    from tests.spec.helpers import problems
    assert any("kserve.tracing.endpoint" in p and "http(s)://" in p
               for p in problems([api(kserve={"tracing": {"endpoint": "otel:4317"}})]))
