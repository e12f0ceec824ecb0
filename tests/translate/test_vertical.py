"""kserve.vertical_scaling: the VerticalPodAutoscaler, strict-valid against the VPA CRD's v1 schema,
and the combinations refused beside Knative / the HPA."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from kserve_bridge.translator import explain, translate
from tests.translate.specs import SPECS, api

VPA_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "verticalpodautoscaler-v1.json"
RAW = {"deployment_mode": "RawDeployment"}


def strict(schema: dict) -> dict:
    """The schema as a kube-apiserver with strict field validation applies it: unknown fields rejected."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items() if k != "x-kubernetes-int-or-string"}
        if schema.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if "properties" in schema and "additionalProperties" not in schema and schema.get("properties") != {}:
            out["additionalProperties"] = False
        return out
    return [strict(v) for v in schema] if isinstance(schema, list) else schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Validator:
    schema = strict(json.loads(VPA_SCHEMA.read_text()))
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def vpas(spec: list[dict], namespace: str | None = "team-a") -> list[dict]:
    return [o for o in translate(spec, namespace=namespace) if o["kind"] == "VerticalPodAutoscaler"]


@pytest.mark.parametrize("case", [c for c in SPECS if c.startswith("vpa-") and c != "vpa-off"])
def test_vpa_is_strict_valid(validator, case):
    (vpa,) = vpas(SPECS[case])
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(vpa)]
    assert not errors


def test_validator_rejects_an_unknown_field(validator):
    (vpa,) = vpas(SPECS["vpa-recommend"])
    vpa["spec"]["updatePolicy"]["mode"] = "Off"
    assert list(validator.iter_errors(vpa))


def test_vpa_targets_kserve_raw_deployment_and_only_the_model_server():
    (vpa,) = vpas(SPECS["vpa-auto-memory"])
    assert vpa["metadata"] == {"name": "demo-predictor", "namespace": "team-a", "labels": {
        "app.kubernetes.io/name": "demo", "app.kubernetes.io/managed-by": "kserve-bridge"}}
    assert vpa["spec"]["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-predictor"}
    assert vpa["spec"]["updatePolicy"] == {"updateMode": "Recreate"}
    server, rest = vpa["spec"]["resourcePolicy"]["containerPolicies"]
    assert server == {"containerName": "kserve-container", "mode": "Auto", "controlledResources": ["memory"],
                      "minAllowed": {"memory": "256Mi"}, "maxAllowed": {"memory": "4Gi"}}
    assert rest == {"containerName": "*", "mode": "Off"}


@pytest.mark.parametrize("mode, update_mode", [("recommend", "Off"), ("initial", "Initial"), ("auto", "Recreate")])
def test_modes(mode, update_mode):
    spec = [api(kserve={**RAW, "autoscaler_class": "external", "vertical_scaling": {"mode": mode}})]
    (vpa,) = vpas(spec)
    assert vpa["spec"]["updatePolicy"]["updateMode"] == update_mode
    assert f"updateMode {update_mode}" in explain(spec)


def test_off_and_absent_make_no_vpa():
    assert vpas(SPECS["vpa-off"]) == [] and vpas(SPECS["defaults"]) == []
    assert "off: no VerticalPodAutoscaler" in explain(SPECS["vpa-off"])


def problems(spec: list[dict]) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


@pytest.mark.parametrize("mode", ["recommend", "initial", "auto"])
def test_serverless_is_refused_with_the_reason(mode):
    (problem,) = problems([api(kserve={"vertical_scaling": {"mode": mode}})])
    assert "kserve.vertical_scaling.mode" in problem
    assert "one Deployment per revision" in problem and "use RawDeployment" in problem


@pytest.mark.parametrize("kserve, controlled", [({}, ["cpu", "memory"]), ({}, ["cpu"]),
                                                ({"scale_metric": "memory"}, ["memory"]),
                                                ({"autoscaler_class": "hpa"}, ["cpu"])])
@pytest.mark.parametrize("mode", ["initial", "auto"])
def test_resizing_the_hpa_resource_is_refused(kserve, controlled, mode):
    spec = [api(kserve={**RAW, **kserve, "vertical_scaling": {"mode": mode, "controlled_resources": controlled}})]
    (problem,) = problems(spec)
    metric = kserve.get("scale_metric", "cpu")
    assert f"unsafe beside the HPA, which scales on {metric}" in problem and "use mode: recommend" in problem


@pytest.mark.parametrize("kserve, vertical", [
    ({}, {"mode": "recommend"}),                                        # recommendations only
    ({}, {"mode": "auto", "controlled_resources": ["memory"]}),         # HPA on cpu, VPA on memory
    ({"scale_metric": "memory"}, {"mode": "initial", "controlled_resources": ["cpu"]}),
    ({"autoscaler_class": "keda"}, {"mode": "auto"}),
    ({"autoscaler_class": "external"}, {"mode": "initial"}),
])
def test_safe_combinations_are_accepted(kserve, vertical):
    assert len(vpas([api(kserve={**RAW, **kserve, "vertical_scaling": vertical})])) == 1


def test_every_bounds_problem_is_reported():
    spec = [api(kserve={**RAW, "vertical_scaling": {"mode": "recommend", "controlled_resources": [],
                                                     "min": {"cpu": "2", "mem": "1Gi"},
                                                     "max": {"cpu": "1", "mem": "512Mi"}}})]
    found = problems(spec)
    assert len(found) == 3, found
    assert any("min.cpu: must be <= max.cpu (1)" in p for p in found)
    assert any("min.mem: must be <= max.mem (512Mi)" in p for p in found)
    assert any("controlled_resources: must list cpu and/or memory" in p for p in found)


def test_typos_are_rejected():
    assert problems([api(kserve={**RAW, "vertical_scaling": {"mode": "Auto"}})])
    assert problems([api(kserve={**RAW, "vertical_scaling": {"mode": "recommend", "controlled_resources": ["gpu"]}})])
    assert problems([api(kserve={**RAW, "vertical_scaling": {"mode": "recommend", "max": {"cpu": "lots"}}})])


def test_shipped_schema_matches_the_crd_in_shared(shared_dir):
    """tests/schemas/ is a copy (descriptions dropped) of the VPA CRD's v1 schema; it must not drift."""
    import yaml

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "description"}
        return [strip(v) for v in node] if isinstance(node, list) else node

    docs = yaml.safe_load_all((shared_dir / "schemas" / "vpa" / "verticalpodautoscalers.yaml").read_text())
    crd = next(d for d in docs if d and d["spec"]["names"]["kind"] == "VerticalPodAutoscaler")
    v1 = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    shipped = json.loads(VPA_SCHEMA.read_text())
    shipped.pop("$comment")
    assert shipped == strip(v1["schema"]["openAPIV3Schema"])


def test_cli_reports_the_refusal_with_its_line(tmp_path, capsys):
    from kserve_bridge.cli import main
    (tmp_path / "predictor.py").write_text("class PythonPredictor:\n    pass\n")
    (tmp_path / "cortex.yaml").write_text(
        "- name: a\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n"
        "  kserve:\n    vertical_scaling:\n      mode: initial\n")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cortex.yaml:6: apis[0](a).kserve.vertical_scaling.mode: needs kserve.deployment_mode RawDeployment" in err
    assert "Traceback" not in err
