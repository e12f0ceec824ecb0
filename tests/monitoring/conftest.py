"""Shared pieces of the monitoring tests: the manifests, promtool, and the dashboard's queries."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "manifests" / "monitoring"
ALERTS_TEST = Path(__file__).with_name("alerts_test.yaml")


def rule_groups() -> dict:
    """The PrometheusRule's `spec`: a plain Prometheus rules file."""
    return yaml.safe_load((MONITORING / "prometheus-rule.yaml").read_text())["spec"]


def alerts() -> dict[str, str]:
    return {r["alert"]: r["expr"] for g in rule_groups()["groups"] for r in g["rules"] if "alert" in r}


def recorded() -> dict[str, str]:
    """The recording rules (drift's PSI): record name -> expression."""
    return {r["record"]: r["expr"] for g in rule_groups()["groups"] for r in g["rules"] if "record" in r}


def dashboard() -> dict:
    return json.loads((MONITORING / "dashboard.json").read_text())


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every dashboard target."""
    return [(p["title"], t["expr"]) for p in dashboard()["panels"] for t in p["targets"]]


def load_script(name: str):
    """scripts/<name>.py as a module (scripts/ is not a package; on sys.path, as when a script runs, so
    that scripts import each other: monitoring_stack imports loopback)."""
    if str(REPO / "scripts") not in sys.path:
        sys.path.insert(0, str(REPO / "scripts"))
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return binary
