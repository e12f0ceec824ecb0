"""deploy / get / delete / canary, through the real CLI and the real `kubernetes` client,
against the fake API server over HTTP."""
from __future__ import annotations

from kserve_bridge.cli import main
from tests.cluster.conftest import ISVC_KEY, isvc


def cli(kubeconfig, *argv: str) -> int:
    command, rest = argv[0], list(argv[1:])
    prefix = [command, rest.pop(0)] if command == "canary" else [command]
    return main(prefix + rest + ["--kubeconfig", str(kubeconfig)])


def traffic_rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ")}


def rv(fake, name: str = "iris") -> str:
    return fake.isvc(name)["metadata"]["resourceVersion"]


def test_deploy_applies_server_side_and_is_idempotent(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert "InferenceService/iris created (namespace models)" in capsys.readouterr().out
    method, path, ctype = next(r for r in fake.requests if r[0] == "PATCH")
    assert ctype == "application/apply-patch+yaml"
    assert "fieldManager=kserve-bridge" in path and "force=true" in path
    before = rv(fake)
    assert cli(kubeconfig, "deploy", "--no-upload", str(project / "cortex.yaml")) == 0
    assert "InferenceService/iris unchanged" in capsys.readouterr().out
    assert rv(fake) == before
    obj = fake.isvc("iris")
    assert obj["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert {"manager": "kserve-bridge", "operation": "Apply"}.items() <= obj["metadata"]["managedFields"][0].items()


def test_deploy_changed_project_reconfigures(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project), "--image", "registry.example/bridge:7") == 0
    assert "registry.example/bridge:7" in str(fake.isvc("iris")["spec"])
    first = fake.isvc("iris")["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    (project / "predictor.py").write_text((project / "predictor.py").read_text() + "\n# v2\n")
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert "InferenceService/iris configured" in capsys.readouterr().out
    assert fake.isvc("iris")["metadata"]["labels"]["kserve-bridge.io/deployment-id"] != first


def test_deploy_wait_shows_progress_until_ready(fake, kubeconfig, project, capsys):
    fake.auto_ready = False

    def become_ready():
        fake.set_condition("iris", "PredictorReady", "False", "RevisionMissing")
        fake.set_condition("iris", "PredictorReady", "True")
        fake.set_condition("iris", "Ready", "True")

    fake.once_watched(become_ready)  # the conditions change while `--wait` watches
    assert cli(kubeconfig, "deploy", "--no-upload", str(project), "--wait", "--timeout", "120") == 0
    out = capsys.readouterr().out
    assert "PredictorReady=False RevisionMissing" in out
    assert out.index("RevisionMissing") < out.index("iris is Ready at")


def test_deploy_wait_times_out_with_logs_hint(fake, kubeconfig, project, capsys):
    fake.auto_ready = False
    assert cli(kubeconfig, "deploy", "--no-upload", str(project), "--wait", "--timeout", "1") == 1
    err = capsys.readouterr().err
    assert "not Ready after 1s" in err
    assert "kubectl logs -n models -l serving.kserve.io/inferenceservice=iris -c kserve-container" in err


def test_deploy_bad_spec_exits_2_and_writes_nothing(fake, kubeconfig, project, capsys):
    (project / "cortex.yaml").write_text("- name: Not A Name\n  kind: RealtimeAPI\n")
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 2
    assert not [r for r in fake.requests if r[0] != "GET"]


def test_get_table_and_details(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    fake.write(ISVC_KEY + ("other",), isvc("other"))
    capsys.readouterr()
    assert cli(kubeconfig, "get") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "URL", "TRAFFIC", "REPLICAS", "DEPLOYMENT-ID"]
    assert lines[1].split()[:3] == ["iris", "Ready", "http://iris.models.example.com"]
    assert "iris-predictor-00001 100%" in lines[1]
    assert lines[2].startswith("other")
    assert cli(kubeconfig, "get", "iris") == 0
    out = capsys.readouterr().out
    assert "traffic:" in out and "condition Ready:" in out
    assert "kubectl logs -n models -l serving.kserve.io/inferenceservice=iris -c kserve-container" in out


def test_get_missing_and_other_context(fake, kubeconfig, capsys):
    assert cli(kubeconfig, "get", "nope") == 1
    assert 'not found' in capsys.readouterr().err
    assert main(["get", "--kubeconfig", str(kubeconfig), "--context", "other"]) == 0
    assert "no APIs in namespace other" in capsys.readouterr().out


def test_delete(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert cli(kubeconfig, "delete", "iris") == 0
    assert fake.isvc("iris") is None
    assert cli(kubeconfig, "delete", "iris") == 1
    assert "no API named iris in namespace models" in capsys.readouterr().err


def test_unreachable_api_server(fake, kubeconfig, capsys):
    fake.stop()
    assert cli(kubeconfig, "get") == 1
    assert "cannot reach the Kubernetes API" in capsys.readouterr().err


def test_canary_start_status_promote_rollback(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "20") == 0
    assert fake.isvc("iris")["spec"]["predictor"]["canaryTrafficPercent"] == 20
    before = rv(fake)
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "20") == 0
    assert "(unchanged)" in capsys.readouterr().out
    assert rv(fake) == before
    # a new revision: deploy again with a changed predictor; canaryTrafficPercent survives the apply
    (project / "predictor.py").write_text((project / "predictor.py").read_text() + "\n# v2\n")
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert cli(kubeconfig, "canary", "status", "iris") == 0
    out = capsys.readouterr().out
    assert "canaryTrafficPercent 20%" in out
    assert "iris-predictor-00002" in out and " 20%  latest" in out
    assert "iris-predictor-00001" in out and " 80%  prev" in out
    assert cli(kubeconfig, "canary", "rollback", "iris") == 0
    assert fake.isvc("iris")["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert cli(kubeconfig, "canary", "status", "iris") == 0
    assert traffic_rows(capsys.readouterr().out) == {"iris-predictor-00002": ["0%", "latest", "latest"],
                                                     "iris-predictor-00001": ["100%", "prev"]}
    assert cli(kubeconfig, "canary", "promote", "iris") == 0
    assert "canaryTrafficPercent" not in fake.isvc("iris")["spec"]["predictor"]
    assert cli(kubeconfig, "canary", "status", "iris") == 0
    assert traffic_rows(capsys.readouterr().out) == {"iris-predictor-00002": ["100%", "-", "latest"]}
    patches = [r for r in fake.requests if r[0] == "PATCH" and "kserve-bridge-canary" in r[1]]
    assert {r[2] for r in patches} == {"application/merge-patch+json"}


def test_canary_retries_on_conflict(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    fake.before_next_write(lambda: fake.touch(ISVC_KEY + ("iris",), "concurrent"))
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "30") == 0
    obj = fake.isvc("iris")
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 30
    assert obj["metadata"]["labels"]["other-writer"] == "concurrent"  # the other write was kept
    writes = [r for r in fake.requests if r[0] == "PATCH" and "canary" in r[1]]
    assert len(writes) == 2  # the first got 409, the second (on fresh state) went through


def test_canary_gives_up_after_repeated_conflicts(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    for i in range(5):
        fake.before_next_write(lambda i=i: fake.touch(ISVC_KEY + ("iris",), f"w{i}"))
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "30") == 1
    assert "gave up after 5 conflicts" in capsys.readouterr().err
    assert "canaryTrafficPercent" not in fake.isvc("iris")["spec"]["predictor"]


def test_canary_missing_api_aborts_without_writing(fake, kubeconfig, capsys):
    for action in (["start", "ghost", "--percent", "10"], ["promote", "ghost"], ["rollback", "ghost"]):
        assert cli(kubeconfig, "canary", *action) == 1
    assert "ghost" in capsys.readouterr().err
    assert [r[0] for r in fake.requests] == ["GET"] * 3


def test_canary_bad_percent(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", "--no-upload", str(project)) == 0
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "120") == 1
    assert "between 0 and 100" in capsys.readouterr().err


def test_deploy_traffic_splitter_applies_graph_after_services(fake, kubeconfig, project, capsys):
    (project / "cortex.yaml").write_text(
        "- {name: iris-a, kind: RealtimeAPI, predictor: {type: python, path: predictor.py}}\n"
        "- {name: iris-b, kind: RealtimeAPI, predictor: {type: python, path: predictor.py}}\n"
        "- name: iris\n  kind: TrafficSplitter\n  apis: [{name: iris-a, weight: 80}, {name: iris-b, weight: 20}]\n")
    assert cli(kubeconfig, "deploy", "--no-upload", str(project), "--wait", "--timeout", "10") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["InferenceService/iris-a created (namespace models)",
                       "InferenceService/iris-b created (namespace models)",
                       "InferenceGraph/iris created (namespace models)"]
    assert "iris-a is Ready at http://iris-a.models.example.com" in out
    graph_key = ("serving.kserve.io", "v1alpha1", "models", "inferencegraphs", "iris")
    assert graph_key in fake.objects
    assert cli(kubeconfig, "delete", "iris") == 0
    assert "InferenceGraph/iris deleted" in capsys.readouterr().out
    assert graph_key not in fake.objects and fake.isvc("iris-a") is not None
