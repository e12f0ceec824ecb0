"""RawDeployment rollouts with the Serverless commands: `canary start` then `deploy` (or
`deploy --canary`, or `create_api(canary=...)`) puts the new version into spec.canary; the
cluster's routing (KServe's inferenceservice-config, the HTTPRoute kind), the canary's readiness
and KServe's admission rules are checked before anything moves. Real CLI and `kubernetes`
client against the Kubernetes API double."""
from __future__ import annotations

import copy
import logging

import pytest

from kserve_bridge.cli import main
from kserve_bridge.cluster.canary import Thresholds, auto_rollout
from kserve_bridge.cluster.client import Client
from kserve_bridge.cluster.kube import Kube
from kserve_bridge.cluster.rollout.metrics import Prometheus
from kserve_bridge.cluster.rollout.raw import PENDING_ANNOTATION, admission_problems
from tests.cluster.conftest import ISVC_KEY
from tests.cluster.recorded import START, Clock
from tests.cluster.test_rollout_raw import raw_isvc, strict_valid


@pytest.fixture
def raw_project(project):
    (project / "cortex.yaml").write_text(
        "- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n"
        "  autoscaling:\n    min_replicas: 2\n    max_replicas: 4\n"
        "  kserve:\n    deployment_mode: RawDeployment\n    storage_uri: s3://models/iris\n")
    return project


def cli(kubeconfig, *args: str) -> int:
    return main([*args, "--kubeconfig", str(kubeconfig)])


def deploy(kubeconfig, project, *args: str) -> int:
    return cli(kubeconfig, "deploy", "--no-upload", str(project), *args)


def new_version(project, tag: str) -> None:
    (project / "predictor.py").write_text((project / "predictor.py").read_text() + f"\n# {tag}\n")


def writes(fake) -> int:
    return len([r for r in fake.requests if r[0] != "GET"])


def test_start_then_deploy_puts_the_new_version_into_spec_canary(fake, kubeconfig, raw_project, capsys):
    fake.install_gateway_api()
    assert deploy(kubeconfig, raw_project) == 0
    stable = fake.isvc("iris")["spec"]["predictor"]
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "10") == 0
    assert "the next `kserve-bridge deploy` puts the new version into spec.canary with 10%" in capsys.readouterr().out
    assert fake.isvc("iris")["metadata"]["annotations"][PENDING_ANNOTATION] == "10"
    assert cli(kubeconfig, "canary", "status", "iris") == 0
    assert "the next deploy's canary takes 10%" in capsys.readouterr().out

    new_version(raw_project, "v2")
    assert deploy(kubeconfig, raw_project) == 0
    obj = fake.isvc("iris")
    dep_id = obj["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert obj["spec"]["predictor"] == stable  # the stable predictor is untouched
    [entry] = obj["spec"]["canary"]
    assert entry["trafficPercent"] == 10 and entry["predictor"]["name"] == f"v-{dep_id}"
    assert "maxReplicas" not in entry["predictor"] and entry["predictor"]["minReplicas"] == 2
    env = {e["name"]: e["value"] for e in entry["predictor"]["model"]["env"]}
    assert env["KSERVE_BRIDGE_DEPLOYMENT_ID"] == dep_id != stable_id(stable)
    assert PENDING_ANNOTATION not in obj["metadata"]["annotations"]  # the share now lives in the entry
    assert admission_problems(obj) == []
    out = capsys.readouterr().out
    assert f"canary v-{dep_id} (iris-v-{dep_id}-predictor) at 10%" in out

    assert cli(kubeconfig, "canary", "status", "iris") == 0
    assert f"iris-v-{dep_id}-predictor 10%, iris-predictor 90%" in capsys.readouterr().out
    assert cli(kubeconfig, "get", "iris") == 0
    out = capsys.readouterr().out
    assert f"iris-v-{dep_id}-predictor 10%, iris-predictor 90%" in out and "canary percent:         10%" in out
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "50") == 0
    assert fake.isvc("iris")["spec"]["canary"][0]["trafficPercent"] == 50
    assert cli(kubeconfig, "canary", "promote", "iris") == 0
    promoted = fake.isvc("iris")["spec"]
    assert "canary" not in promoted and promoted["predictor"]["name"] == f"v-{dep_id}"
    assert promoted["predictor"]["model"] == entry["predictor"]["model"]
    assert entry["predictor"]["model"]["name"] == "kserve-container"  # KServe's CRD requires it in spec.canary

    new_version(raw_project, "v3")  # no share pending after promotion: a plain deploy replaces the predictor
    assert deploy(kubeconfig, raw_project) == 0
    assert "canary" not in fake.isvc("iris")["spec"]


def stable_id(predictor: dict) -> str:
    return {e["name"]: e["value"] for e in predictor["model"]["env"]}["KSERVE_BRIDGE_DEPLOYMENT_ID"]


def test_deploy_during_a_canary_replaces_it_at_its_share(fake, kubeconfig, raw_project, capsys):
    fake.install_gateway_api()
    assert deploy(kubeconfig, raw_project) == 0
    new_version(raw_project, "v2")
    assert deploy(kubeconfig, raw_project, "--canary", "20") == 0
    first = fake.isvc("iris")["spec"]["canary"][0]["predictor"]["name"]
    assert cli(kubeconfig, "canary", "rollback", "iris") == 0
    new_version(raw_project, "v3")
    assert deploy(kubeconfig, raw_project) == 0  # like Serverless: the next version takes the share left
    [entry] = fake.isvc("iris")["spec"]["canary"]
    assert entry["predictor"]["name"] != first and entry["trafficPercent"] == 0
    before = writes(fake)
    assert deploy(kubeconfig, raw_project) == 0  # the same version again changes nothing
    assert fake.isvc("iris")["spec"]["canary"] == [entry]
    assert "unchanged" in capsys.readouterr().out and writes(fake) == before + 1  # the apply, a no-op


def test_deploy_canary_in_serverless_mode_and_first_deploy(fake, kubeconfig, project, capsys):
    assert deploy(kubeconfig, project, "--canary", "25") == 0
    assert "first version, takes all traffic" in capsys.readouterr().out
    new_version(project, "v2")
    assert deploy(kubeconfig, project, "--canary", "25") == 0
    assert "the new revision takes 25% (canaryTrafficPercent)" in capsys.readouterr().out
    assert fake.isvc("iris")["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert cli(kubeconfig, "canary", "status", "iris") == 0
    out = capsys.readouterr().out
    assert "iris-predictor-00002" in out and " 25%  latest" in out and " 75%  prev" in out


def test_create_api_with_canary_from_python(fake, kubeconfig, raw_project, caplog):
    fake.install_gateway_api()
    api = Client(kubeconfig=str(kubeconfig))
    spec = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"},
            "kserve": {"deployment_mode": "RawDeployment", "storage_uri": "s3://models/iris"}}
    api.create_api(spec, project_dir=raw_project, upload=False, canary=10)
    assert "canary" not in fake.isvc("iris")["spec"]
    new_version(raw_project, "v2")
    with caplog.at_level(logging.INFO, logger="kserve_bridge.cluster.client"):
        status = api.create_api(spec, project_dir=raw_project, upload=False, canary=10)
    assert status.name == "iris" and "at 10%" in caplog.text
    assert fake.isvc("iris")["spec"]["canary"][0]["trafficPercent"] == 10


@pytest.mark.parametrize("setup, message", [
    (lambda fake: fake.install_gateway_api(enabled=False), "enableGatewayApi false"),
    (lambda fake: fake.install_gateway_api(crd=False), "does not serve the HTTPRoute kind"),
    (lambda fake: fake.install_gateway_api(disableIngressCreation=True), "disableIngressCreation true"),
    (lambda fake: fake.install_gateway_api(ingressDomain="svc.cluster.local"), "cluster-local"),
])
def test_no_gateway_api_routing_is_refused_before_anything_moves(fake, kubeconfig, raw_project, capsys,
                                                                   setup, message):
    setup(fake)
    assert deploy(kubeconfig, raw_project) == 0
    before, obj = writes(fake), fake.isvc("iris")
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "10") == 1
    err = capsys.readouterr().err
    assert message in err and "only through Gateway API HTTPRoutes" in err
    new_version(raw_project, "v2")
    assert deploy(kubeconfig, raw_project, "--canary", "10") == 1
    assert message in capsys.readouterr().err
    assert writes(fake) == before and fake.isvc("iris") == obj
    assert deploy(kubeconfig, raw_project, "--canary", "0") == 0  # a dark canary moves no traffic
    assert fake.isvc("iris")["spec"]["canary"][0]["trafficPercent"] == 0


def test_unreadable_kserve_config_warns_and_goes_on(fake, kubeconfig, raw_project, capsys):
    assert deploy(kubeconfig, raw_project) == 0  # no inferenceservice-config in namespace kserve
    assert cli(kubeconfig, "canary", "start", "iris", "--percent", "10") == 0
    assert "could not check that the cluster routes canary traffic: no inferenceservice-config" in \
        capsys.readouterr().err


def test_share_rises_only_once_the_canary_reports_ready(fake, kubeconfig, capsys):
    fake.install_gateway_api()
    fake.raw_canary_ready = False
    fake.write(ISVC_KEY + ("raw",), raw_isvc(share=0))
    before = writes(fake)
    assert cli(kubeconfig, "canary", "start", "raw", "--percent", "10") == 1
    assert "canary v2 does not report ready yet" in capsys.readouterr().err and writes(fake) == before
    assert cli(kubeconfig, "canary", "rollback", "raw") == 0  # lowering (here: unchanged) always works


def test_auto_waits_for_a_ready_canary(fake, kubeconfig, recorded):
    fake.install_gateway_api()
    fake.raw_canary_ready = False
    fake.write(ISVC_KEY + ("raw",), raw_isvc(share=0))
    clock = Clock(START)

    def ready(n: int) -> None:
        if n == 2:
            fake.raw_canary_ready = True
            fake.set_status("raw", lambda st: st["canaryStatuses"][0].update(ready=True))
    clock.on_sleep.append(ready)
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "raw", Prometheus(recorded), [10, 50, 100], 60,
                          Thresholds(min_requests=100), window="60s", sleep=clock.sleep, clock=clock)
    reasons = [d.reason for d in result.decisions]
    assert result.outcome == "promoted", reasons
    assert sum("does not report ready yet" in r for r in reasons) == 2
    assert [d.action for d in result.decisions][:3] == ["plan", "hold", "hold"]


def test_auto_ends_when_the_canary_never_gets_ready(fake, kubeconfig, recorded):
    fake.install_gateway_api()
    fake.raw_canary_ready = False
    fake.write(ISVC_KEY + ("raw",), raw_isvc(share=0))
    clock = Clock(START)
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "raw", Prometheus(recorded), [10, 50, 100], 60,
                          Thresholds(min_requests=100, max_holds=2), window="60s", sleep=clock.sleep, clock=clock)
    assert (result.outcome, result.exit_code) == ("aborted", 4)
    assert "did not report ready within 2 interval(s)" in result.decisions[-1].reason
    assert fake.isvc("raw")["spec"]["canary"][0]["trafficPercent"] == 0


def test_redeploying_the_stable_version_as_canary_is_refused(fake, kubeconfig, raw_project, capsys):
    fake.install_gateway_api()
    assert deploy(kubeconfig, raw_project) == 0
    new_version(raw_project, "v2")
    assert deploy(kubeconfig, raw_project, "--canary", "10") == 0
    assert cli(kubeconfig, "canary", "promote", "iris") == 0
    before = writes(fake)
    assert deploy(kubeconfig, raw_project, "--canary", "10") == 2  # v2 is now the stable predictor
    err = capsys.readouterr().err
    assert "KServe would refuse this spec.canary" in err and "is the stable predictor's name" in err
    assert writes(fake) == before


def admission_case(change) -> list[str]:
    obj = raw_isvc()
    obj["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "Standard"
    obj["spec"]["predictor"]["containers"][0]["env"] = [{"name": "STORAGE_URI", "value": "s3://m/1"}]
    change(obj)
    return admission_problems(obj)


@pytest.mark.parametrize("change, expected", [
    (lambda o: None, None),
    (lambda o: o["metadata"]["annotations"].update({"serving.kserve.io/deploymentMode": "Serverless"}),
     "needs Standard (RawDeployment) mode"),
    (lambda o: o["spec"]["predictor"]["containers"][0].pop("env"), "needs a stable predictor with a model"),
    (lambda o: o["spec"]["canary"][0]["predictor"].pop("name"), "spec.canary[0].predictor.name is required"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(name="V2"), "must match"),
    (lambda o: o["spec"]["predictor"].update(name="v2"), "is the stable predictor's name"),
    (lambda o: o["spec"]["canary"].append(copy.deepcopy(o["spec"]["canary"][0])), "'v2' is duplicated"),
    (lambda o: o["spec"]["canary"][0].update(trafficPercent=101), "between 0 and 100"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(maxReplicas=3), "maxReplicas: a canary has fixed"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(scaleMetric="cpu"), "scaleMetric: a canary has fixed"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(workerSpec={}), "workerSpec"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(minReplicas=3), "must not exceed the stable"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(model={"storageUri": "s3://m/2"}), "exactly one of"),
    (lambda o: o["metadata"].update(name="x" * 51), "longer than 63 characters"),
    (lambda o: o["spec"]["canary"][0]["predictor"].update(containers=None, model={"modelFormat": {"name": "x"}}),
     "model.name is required"),
])
def test_admission_rules_for_spec_canary(change, expected):
    problems = admission_case(change)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_canary_shares_adding_up_beyond_100_are_refused():
    def two(o: dict) -> None:
        second = copy.deepcopy(o["spec"]["canary"][0])
        second["predictor"]["name"] = "v3"
        o["spec"]["canary"][0]["trafficPercent"] = 60
        o["spec"]["canary"].append(dict(second, trafficPercent=50))
    assert admission_case(two) == ["spec.canary: the trafficPercent values add up to 110 (at most 100)"]


def test_deployed_canary_is_valid_against_kserves_crd(fake, kubeconfig, raw_project, shared_dir, tmp_path):
    fake.install_gateway_api()
    assert deploy(kubeconfig, raw_project) == 0
    new_version(raw_project, "v2")
    assert deploy(kubeconfig, raw_project, "--canary", "10") == 0
    strict_valid(shared_dir, tmp_path, fake.isvc("iris"))
