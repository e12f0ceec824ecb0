"""Dashboard queries and alert expressions against a REAL Prometheus scraping REAL model servers.

Two `kserve-bridge serve` processes of examples/payload-logging play a stable and a canary
revision (labelled as the PodMonitor labels them in a cluster); Prometheus (Debian's package)
scrapes both every second and evaluates manifests/monitoring's PrometheusRule. A short,
bounded load: good predictions on both, malformed ones (500) and bursts past the concurrency
limit (503) on the canary, whose payload records go to a receiver that is down.
"""
from __future__ import annotations

import math
import shutil

import pytest

from tests.monitoring.conftest import alerts, dashboard, load_script, panel_queries, recorded

stack = load_script("monitoring_stack")
NAMESPACE, API = "team-a", "audited-iris"
STABLE, CANARY = f"{API}-predictor-00001", f"{API}-predictor-00002"
KNATIVE_ONLY = ("autoscaler_", "activator_", "revision_app_request")  # absent without Knative: empty
EXPECTED_ALERTS = {"KServeBridgeHighErrorRate": True, "KServeBridgeHighLatencyP99": True,
                   "KServeBridgeAPINotReady": False, "KServeBridgeRestarts": False,
                   "KServeBridgeSustained503": True, "KServeBridgePayloadLogDropping": True,
                   "KServeBridgeFeatureDrift": True}  # three fixed rows are nothing like the iris training set


def grafana(expr: str) -> str:
    """What Grafana sends for the dashboard's variables (one namespace and API, every revision)."""
    return (expr.replace("$namespace", NAMESPACE).replace("$api", API).replace("$revision", ".*")
            .replace("$__rate_interval", "1m"))


def total(prom, promql: str) -> float:
    return sum(float(r["value"][1]) for r in prom.query(promql))


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    """(Prometheus, statuses per revision) once Prometheus has scraped the end of the load."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    root = tmp_path_factory.mktemp("monitoring")
    project = stack.watched_project(root / "project", alerts={"latency_p99": "1ms", "error_rate": 0.01})
    ports, down = [stack.free_port(), stack.free_port()], stack.free_port()  # nothing listens on `down`
    servers = []
    try:
        servers.append(stack.serve(project, ports[0], root / "stable.log", "--log-requests",
                                   str(root / "records.jsonl")))
        servers.append(stack.serve(project, ports[1], root / "canary.log", "--log-requests",
                                   f"http://127.0.0.1:{down}/"))
        prom = stack.Prometheus(root / "prometheus", [
            (port, {"namespace": NAMESPACE, "pod": f"{revision}-deployment-1", "revision_name": revision})
            for port, revision in zip(ports, (STABLE, CANARY), strict=False)])
        try:
            urls = [f"http://127.0.0.1:{port}/{API}" for port in ports]
            statuses: dict[str, dict[int, int]] = {STABLE: {}, CANARY: {}}

            def add(revision: str, counts: dict[int, int]) -> None:
                for status, count in counts.items():
                    statuses[revision][status] = statuses[revision].get(status, 0) + count

            # Two phases, each waited for: a counter born and grown within one scrape has no rate.
            for stable_calls, canary_calls in ((10, 10), (200, 40)):  # >= 200 observations: drift alerts
                add(STABLE, stack.traffic(urls[0], stable_calls))
                add(CANARY, stack.traffic(urls[1], canary_calls, bad_every=5))
                add(CANARY, stack.burst_until_503(urls[1]))
                answered = sum(sum(s.values()) for s in statuses.values())
                stack.wait_until(lambda answered=answered: total(
                                     prom, 'sum(kserve_bridge_requests_total{method="POST"})') == answered, 60,
                                 "Prometheus scraping every answered request")
            yield prom, statuses
        finally:
            prom.stop()
    finally:
        for server in servers:
            stack.stop(server)


def test_the_load_produced_successes_errors_and_rejections(scraped):
    _, statuses = scraped
    assert set(statuses[STABLE]) == {200}
    assert statuses[CANARY].get(500) and statuses[CANARY].get(503) and statuses[CANARY].get(200)


@pytest.mark.parametrize("title,expr", panel_queries(), ids=[f"{t} [{i}]" for i, (t, _) in
                                                             enumerate(panel_queries())])
def test_every_dashboard_query_returns_data(scraped, title, expr):
    prom, _ = scraped
    result = prom.query(grafana(expr))  # raises if Prometheus rejects the query
    if any(name in expr for name in KNATIVE_ONLY):
        assert result == [], "Knative metrics cannot exist in a local run"
        return
    values = [float(r["value"][1]) for r in result]
    assert any(math.isfinite(v) for v in values), f"{title}: {expr} -> {result}"


def test_canary_and_stable_side_by_side(scraped):
    prom, statuses = scraped
    share_panel = next(p for p in dashboard()["panels"] if p["title"].startswith("Canary vs stable"))
    shares = {r["metric"]["revision_name"]: float(r["value"][1])
              for r in prom.query(grafana(share_panel["targets"][0]["expr"]))}
    assert set(shares) == {STABLE, CANARY} and math.isclose(sum(shares.values()), 1.0)
    errors = {r["metric"]["revision_name"]: float(r["value"][1])
              for r in prom.query(grafana(dashboard()["panels"][1]["targets"][0]["expr"]))}
    assert errors[STABLE] == 0 and errors[CANARY] > 0


def test_template_variables_resolve(scraped):
    prom, _ = scraped
    assert NAMESPACE in prom.api("label/namespace/values", **{"match[]": "kserve_bridge_requests_total"})
    assert prom.api("label/api/values", **{"match[]": f'kserve_bridge_requests_total{{namespace="{NAMESPACE}"}}'}) \
        == [API]
    assert prom.api("label/revision_name/values", **{
        "match[]": f'kserve_bridge_requests_total{{namespace="{NAMESPACE}",api="{API}"}}'}) == [STABLE, CANARY]


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_alert_expression_against_the_load(scraped, alert):
    """Thresholds of this API: p99 1ms and 1% errors (kserve.alerts), so latency and errors page."""
    prom, _ = scraped
    result = prom.query(alerts()[alert])
    assert bool(result) == EXPECTED_ALERTS[alert], result
    for series in result:
        assert series["metric"].get("namespace") == NAMESPACE
        if alert == "KServeBridgePayloadLogDropping":
            assert series["metric"]["reason"] == "unreachable"


def test_prometheus_loads_the_rules_and_raises_the_alerts(scraped):
    prom, _ = scraped
    rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in rules) == sorted([*alerts(), *recorded()])
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    expected = {name for name, fires in EXPECTED_ALERTS.items() if fires}
    raised = stack.wait_until(lambda: {a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]} >= expected
                              and {a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]}, 60,
                              "the alerts pending")
    assert raised == expected


def test_payload_records_are_all_accounted_for(scraped):
    """Stable: every call's request and response delivered; canary (sink down): every record dropped."""
    prom, statuses = scraped
    sel = f'namespace="{NAMESPACE}",api="{API}"'
    stable_records = 2 * statuses[STABLE][200]
    canary_records = sum(statuses[CANARY].values()) + statuses[CANARY][200]
    stack.wait_until(lambda: total(prom, f'kserve_bridge_payload_log_records_total{{{sel},revision_name="{STABLE}"}}')
                     == stable_records and total(prom, f'kserve_bridge_payload_log_dropped_total'
                                                       f'{{{sel},revision_name="{CANARY}"}}') == canary_records,
                     60, "every payload record sent or dropped")
    assert total(prom, f'kserve_bridge_payload_log_dropped_total{{{sel},revision_name="{STABLE}"}}') == 0
