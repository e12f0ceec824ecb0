"""Predictor mistakes stop `deploy` and `create_api` before anything is applied; a model server that
fails to load shows its reason (the pod's termination message) in `kserve-bridge get`."""
from __future__ import annotations

import pytest

import kserve_bridge
from kserve_bridge.cli import main
from kserve_bridge.errors import SpecError

TERMINATED = {"exitCode": 1, "reason": "Error",
              "message": "API iris failed to load: predictor.py:3: PredictorError: PythonPredictor.__init__ "
                         "failed: OSError: no GPU here"}


class ReadsModelPath:
    """A guide-style predictor: reads config['model_path'], which the spec's config below lacks."""

    def __init__(self, config):
        self.path = config["model_path"]

    def predict(self, payload):
        return self.path


def writes(fake) -> list:
    return [r for r in fake.requests if r[0] != "GET"]


def test_create_api_runs_the_predictor_check_before_applying(kubeconfig, fake):
    api = kserve_bridge.client(kubeconfig=str(kubeconfig))
    with pytest.raises(SpecError) as info:
        api.create_api({"name": "reader", "kind": "RealtimeAPI",
                        "predictor": {"type": "python", "config": {"threshold": 1}}},
                       predictor=ReadsModelPath)
    message = str(info.value)
    assert "predictor.py:" in message and "ReadsModelPath.__init__ reads config['model_path']" in message
    assert not writes(fake)


def test_deploy_runs_the_predictor_check_before_applying(kubeconfig, fake, project, capsys):
    (project / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload, body):\n"
                                          "        return 1\n")
    assert main(["deploy", str(project), "--kubeconfig", str(kubeconfig), "--no-upload"]) == 2
    assert "predictor.py:2: apis[0](iris): PythonPredictor.predict: unknown argument(s) body" in capsys.readouterr().err
    assert not writes(fake)


def test_get_shows_why_the_model_server_fails(kubeconfig, fake, project, capsys):
    fake.auto_ready = False
    assert main(["deploy", str(project), "--kubeconfig", str(kubeconfig), "--no-upload"]) == 0
    fake.set_condition("iris", "Ready", "False", "RevisionFailed")
    labels = {"serving.kserve.io/inferenceservice": "iris"}
    fake.add_pod("iris-predictor-00001-abc", labels, {"containerStatuses": [
        {"name": "queue-proxy", "state": {"running": {}}, "restartCount": 0},
        {"name": "kserve-container", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": TERMINATED}}]})
    fake.add_pod("other-predictor-1", {"serving.kserve.io/inferenceservice": "other"}, {"containerStatuses": [
        {"name": "kserve-container", "state": {"terminated": {"exitCode": 2, "message": "not this one"}}}]})
    capsys.readouterr()
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "NotReady RevisionFailed" in out
    assert ("error:                  CrashLoopBackOff (restarted 4 times): API iris failed to load: "
            "predictor.py:3: PredictorError") in out
    assert "not this one" not in out
    status = kserve_bridge.client(kubeconfig=str(kubeconfig)).get_api("iris")
    assert status.failure.startswith("CrashLoopBackOff (restarted 4 times): API iris failed to load")


def test_get_lists_why_each_failing_api_fails(kubeconfig, fake, project, capsys):
    fake.auto_ready = False
    assert main(["deploy", str(project), "--kubeconfig", str(kubeconfig), "--no-upload"]) == 0
    fake.set_condition("iris", "Ready", "False", "RevisionFailed")
    fake.add_pod("iris-predictor-00001-abc", {"serving.kserve.io/inferenceservice": "iris"}, {"containerStatuses": [
        {"name": "kserve-container", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": TERMINATED}}]})
    fake.add_pod("unrelated", {"app": "x"}, {"containerStatuses": [
        {"name": "kserve-container", "state": {"terminated": {"exitCode": 2, "message": "not an API"}}}]})
    capsys.readouterr()
    assert main(["get", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "failing:\n  iris: CrashLoopBackOff (restarted 2 times): API iris failed to load: predictor.py:3" in out
    assert "not an API" not in out
    (status,) = kserve_bridge.client(kubeconfig=str(kubeconfig)).list_apis()
    assert status.failure is not None and "OSError: no GPU here" in status.failure


def test_get_of_a_ready_api_shows_no_error(kubeconfig, fake, project, capsys):
    assert main(["deploy", str(project), "--kubeconfig", str(kubeconfig), "--no-upload"]) == 0
    capsys.readouterr()
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    assert "error:" not in capsys.readouterr().out
    assert not [r for r in fake.requests if "/pods" in r[1]]  # a ready API needs no pod lookup
