"""processes_per_replica in the InferenceService: the CPU request, the Knative target, --explain."""
from __future__ import annotations

import pytest

from kserve_bridge.translator import explain, translate

from .specs import api

K = "autoscaling.knative.dev/"


def isvc(**sections) -> dict:
    return translate([api(**sections)], deployment_id="abc123")[0]


def requests_of(obj: dict) -> dict:
    return obj["spec"]["predictor"]["model"]["resources"].get("requests", {})


@pytest.mark.parametrize(("processes", "compute", "cpu"), [
    (1, None, "200m"),  # Cortex's default request
    (2, None, "400m"),  # N processes ask for N x what one asks for
    (3, None, "600m"),
    (2, {"cpu": "1"}, "1"),  # the spec says otherwise: kept
    (4, {"cpu": "250m"}, "250m"),
    (2, {"cpu": None}, None),  # no request at all
])
def test_cpu_request_follows_processes_unless_set(processes, compute, cpu):
    sections = {"predictor": {"processes_per_replica": processes}}
    if compute is not None:
        sections["compute"] = compute
    assert requests_of(isvc(**sections)).get("cpu") == cpu


def test_knative_target_stays_processes_times_threads():
    obj = isvc(predictor={"processes_per_replica": 2, "threads_per_process": 4},
               autoscaling={"max_replica_concurrency": 100})
    annotations, predictor = obj["metadata"]["annotations"], obj["spec"]["predictor"]
    assert annotations[K + "target"] == "8" and predictor["scaleTarget"] == 8
    assert predictor["containerConcurrency"] == 100  # the replica's limit, not per process


def explained(**sections) -> str:
    return explain([api(**sections)], deployment_id="abc123")


def test_explain_says_what_n_processes_cost():
    text = explained(predictor={"processes_per_replica": 2})
    assert "resources.requests.cpu = 400m (processes_per_replica 2 x the default 200m)" in text
    assert "2 model server processes per replica on one port" in text and "2 copies of the model" in text
    assert "resources.requests.cpu = 1 (shared by 2 processes)" in explained(
        predictor={"processes_per_replica": 2}, compute={"cpu": 1})


@pytest.mark.parametrize(("cpu", "suggested"), [("2", 2), ("1500m", 2), ("4", 4)])
def test_explain_suggests_a_second_process_when_one_cannot_use_the_cpu(cpu, suggested):
    text = explained(compute={"cpu": cpu})
    assert f"compute.cpu {cpu} allows more; processes_per_replica: {suggested} would use the rest" in text


@pytest.mark.parametrize("cpu", ["1", "500m"])
def test_no_suggestion_within_one_core(cpu):
    assert "would use the rest" not in explained(compute={"cpu": cpu})
