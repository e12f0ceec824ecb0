"""The PrometheusRule and the dashboard as files: promtool check/test rules, kustomize, freshness."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring.conftest import ALERTS_TEST, MONITORING, alerts, dashboard, load_script, rule_groups


def promtool_test(promtool: str, tmp_path: Path, groups: dict) -> subprocess.CompletedProcess:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False))
    shutil.copy(ALERTS_TEST, tmp_path / "alerts_test.yaml")
    return subprocess.run([promtool, "test", "rules", str(tmp_path / "alerts_test.yaml")], capture_output=True,
                          text=True, timeout=120)


def test_promtool_check_rules(promtool, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    result = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool, tmp_path):
    result = promtool_test(promtool, tmp_path, rule_groups())
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_quiet():
    """Each alert has a case where it fires and one where it must not (an empty exp_alerts)."""
    cases = [case for test in yaml.safe_load(ALERTS_TEST.read_text())["tests"] for case in test["alert_rule_test"]]
    for name in alerts():
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no firing case"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no quiet case"


@pytest.mark.parametrize("alert", ["KServeBridgeHighErrorRate", "KServeBridgeHighLatencyP99"])
def test_unit_tests_catch_a_rule_that_ignores_the_per_api_threshold(promtool, tmp_path, alert):
    """Guards the tests above: comparing against a fixed number instead of the API's threshold fails them."""
    groups = rule_groups()
    rule = next(r for g in groups["groups"] for r in g["rules"] if r.get("alert") == alert)
    rule["expr"] = rule["expr"].split(" > on (namespace, api)")[0] + " > 0.01"
    result = promtool_test(promtool, tmp_path, groups)
    assert result.returncode != 0 and alert in result.stdout + result.stderr


def test_dashboard_json_is_generated_from_the_script():
    assert (MONITORING / "dashboard.json").read_text() == load_script("make_dashboard").text(), (
        "dashboard.json is stale: run python scripts/make_dashboard.py")


def test_dashboard_has_template_variables_and_unique_panels():
    board = dashboard()
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace", "api", "revision"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def kustomize_monitoring() -> str:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    return subprocess.run(["kubectl", "kustomize", str(MONITORING)], check=True, text=True, capture_output=True,
                          timeout=60).stdout


def test_monitoring_manifests_pass_strict_validation(shared_dir):
    """The PrometheusRule has no CRD in ../shared/schemas: names are checked, the rules by promtool above."""
    result = subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), "-"], input=kustomize_monitoring(),
                            text=True, capture_output=True, timeout=60)
    assert result.returncode == 0 and "2 accepted, 0 rejected" in result.stdout, result.stdout + result.stderr


def test_kustomize_builds_dashboard_configmap_and_rule():
    out = kustomize_monitoring()
    objects = {o["kind"]: o for o in yaml.safe_load_all(out)}
    config_map = objects["ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yaml.safe_load(config_map["data"]["kserve-bridge.json"])["uid"] == dashboard()["uid"]
    assert objects["PrometheusRule"]["spec"] == rule_groups()
