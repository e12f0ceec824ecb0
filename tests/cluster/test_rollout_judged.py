"""`canary auto` judging the canary against stable, over recorded metrics in a REAL
Prometheus (backfilled with promtool) and the Kubernetes API test double. The rollout's
clock walks through the recording: every step is a real query at a chosen instant."""
from __future__ import annotations

import json
import os
import signal

import pytest

from kserve_bridge.cli import build_parser
from kserve_bridge.cli.canary import run_auto
from kserve_bridge.cli.cluster import kube_for
from kserve_bridge.cluster.canary import Thresholds, auto_rollout
from kserve_bridge.cluster.kube import Kube
from kserve_bridge.cluster.rollout.metrics import Prometheus
from tests.cluster.conftest import ISVC_KEY, isvc
from tests.cluster.recorded import START, Clock

LIMITS = Thresholds(max_error_rate=0.01, max_p99_ms=250, min_requests=100, max_holds=2,
                    error_rate_margin=0.005, p99_factor=1.5, p99_floor_ms=20)


def start_canary(fake, api: str, share: int = 10) -> None:
    """Revision 1 serving; revision 2 deployed as canary at `share` %."""
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:1"))
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:1", canaryTrafficPercent=share))
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:2", canaryTrafficPercent=share))


def rollout(fake, kubeconfig, recorded, api: str, clock: Clock | None = None, **options):
    clock = clock or Clock(START)
    kube = Kube(kubeconfig=str(kubeconfig))
    decisions = []
    result = auto_rollout(kube, api, Prometheus(recorded), [10, 25, 50, 100], 60, LIMITS, window="60s",
                          on_decision=decisions.append, sleep=clock.sleep, clock=clock, **options)
    assert result.decisions == decisions  # the callback saw every decision, in order
    return result


def actions(result) -> list[str]:
    return [d.action for d in result.decisions]


def spec_share(fake, api: str):
    return fake.isvc(api)["spec"]["predictor"].get("canaryTrafficPercent")


def test_healthy_canary_promoted_with_both_sides_at_every_step(fake, kubeconfig, recorded):
    start_canary(fake, "ok")
    result = rollout(fake, kubeconfig, recorded, "ok")
    assert (result.outcome, result.exit_code) == ("promoted", 0)
    assert actions(result) == ["plan", "advance", "advance", "advance", "promote"]
    assert [d.percent for d in result.decisions[1:4]] == [10, 25, 50]
    for d in result.decisions[1:4]:
        assert d.canary.revision == "ok-predictor-00002" and d.stable.revision == "ok-predictor-00001"
        assert d.canary.requests == pytest.approx(300, rel=0.05) and d.stable.requests == pytest.approx(1200, rel=0.05)
        assert 45 < d.canary.p99_ms < 50 and 45 < d.stable.p99_ms < 50
        assert "vs stable" in d.reason
    assert spec_share(fake, "ok") is None


def test_worse_than_stable_under_the_ceilings_is_rolled_back(fake, kubeconfig, recorded):
    start_canary(fake, "worse")
    result = rollout(fake, kubeconfig, recorded, "worse")
    assert (result.outcome, result.exit_code) == ("rolled_back", 3)
    last = result.decisions[-1]
    assert last.action == "rollback" and last.percent == 10
    assert "error rate 0.80% > stable's 0.00% + 0.50%" in last.reason and "limit" not in last.reason
    assert last.canary.error_rate < LIMITS.max_error_rate
    assert spec_share(fake, "worse") == 0


def test_slower_than_stable_under_the_ceiling_is_rolled_back(fake, kubeconfig, recorded):
    start_canary(fake, "slower")
    result = rollout(fake, kubeconfig, recorded, "slower")
    assert result.exit_code == 3
    last = result.decisions[-1]
    assert "p99 100ms > 1.5 x stable's 50ms" in last.reason
    assert last.canary.p99_ms < LIMITS.max_p99_ms


def test_same_canary_passes_with_absolute_limits_only(fake, kubeconfig, recorded):
    """The relative judgement is what catches it: with a wide margin it advances."""
    start_canary(fake, "worse")
    clock = Clock(START)
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "worse", Prometheus(recorded), [10, 100], 60,
                          Thresholds(min_requests=100, error_rate_margin=0.01), window="60s",
                          sleep=clock.sleep, clock=clock)
    assert result.outcome == "promoted", [d.describe() for d in result.decisions]


def test_too_little_traffic_is_undecided_and_rolled_back(fake, kubeconfig, recorded):
    start_canary(fake, "trickle")
    result = rollout(fake, kubeconfig, recorded, "trickle")
    assert (result.outcome, result.exit_code) == ("rolled_back_undecided", 5)
    assert actions(result) == ["plan", "hold", "hold", "rollback"]
    assert "only 3 canary requests" in result.decisions[1].reason
    assert result.decisions[-1].reason.startswith("undecided: only 3 canary requests")
    assert spec_share(fake, "trickle") == 0


def test_too_little_traffic_with_on_undecided_hold_leaves_traffic(fake, kubeconfig, recorded, tmp_path, capsys):
    start_canary(fake, "trickle")
    clock = Clock(START)
    report = tmp_path / "report.json"
    args = build_parser().parse_args(
        ["canary", "auto", "trickle", "--prometheus", recorded, "--interval", "60s", "--max-holds", "1",
         "--on-undecided", "hold", "--report", str(report), "--kubeconfig", str(kubeconfig)])
    assert run_auto(args, kube_for(args), sleep=clock.sleep, clock=clock) == 4
    assert "traffic left at 10% (--on-undecided hold)" in capsys.readouterr().out
    assert spec_share(fake, "trickle") == 10
    data = json.loads(report.read_text())
    assert (data["outcome"], data["exit_code"], data["mode"]) == ("aborted", 4, "serverless")
    assert [d["action"] for d in data["decisions"]] == ["plan", "hold", "abort"]
    hold = data["decisions"][1]
    assert hold["canary"]["requests"] == pytest.approx(3, rel=0.1) and hold["stable"]["requests"] > 1000
    assert 'revision_name="trickle-predictor-00002"' in hold["canary"]["queries"]["requests"]
    assert hold["at"] == START + 60


def test_metrics_disappearing_mid_rollout_rolls_back(fake, kubeconfig, recorded):
    start_canary(fake, "vanish")
    result = rollout(fake, kubeconfig, recorded, "vanish")
    assert result.exit_code == 5
    assert actions(result)[:3] == ["plan", "advance", "advance"]
    assert actions(result)[3:] == ["hold", "hold", "rollback"]
    assert "no metrics for the canary revision vanish-predictor-00002" in result.decisions[3].reason
    assert not result.decisions[3].canary.has_data and result.decisions[3].stable.has_data
    assert spec_share(fake, "vanish") == 0


def test_replaced_canary_is_undecided_and_rolled_back(fake, kubeconfig, recorded):
    start_canary(fake, "ok")
    clock = Clock(START)
    clock.on_sleep.append(lambda n: n == 2 and fake.write(
        ISVC_KEY + ("ok",), isvc("ok", image="example/model:3", canaryTrafficPercent=25)))
    result = rollout(fake, kubeconfig, recorded, "ok", clock)
    assert result.exit_code == 5
    assert actions(result) == ["plan", "advance", "rollback"]
    assert "ok-predictor-00002 was replaced" in result.decisions[-1].reason
    assert spec_share(fake, "ok") == 0


def test_interrupted_leaves_traffic_and_rerun_resumes(fake, kubeconfig, recorded):
    start_canary(fake, "ok")
    clock = Clock(START)

    def interrupt(n):
        if n == 3:
            raise KeyboardInterrupt
    clock.on_sleep.append(interrupt)
    result = rollout(fake, kubeconfig, recorded, "ok", clock)
    assert (result.outcome, result.exit_code) == ("interrupted", 130)
    assert "traffic left at 50%" in result.decisions[-1].reason
    assert spec_share(fake, "ok") == 50
    again = rollout(fake, kubeconfig, recorded, "ok")
    assert again.outcome == "promoted"
    assert "resuming at 50%; steps 50 -> 100" in again.decisions[0].reason
    assert [d.percent for d in again.decisions if d.action == "advance"] == [50]


def test_sigterm_ends_like_ctrl_c(fake, kubeconfig, recorded, capsys):
    start_canary(fake, "ok")
    clock = Clock(START)
    clock.on_sleep.append(lambda n: n == 2 and os.kill(os.getpid(), signal.SIGTERM))
    args = build_parser().parse_args(["canary", "auto", "ok", "--prometheus", recorded, "--interval", "60s",
                                      "--kubeconfig", str(kubeconfig)])
    before = signal.getsignal(signal.SIGTERM)
    assert run_auto(args, kube_for(args), sleep=clock.sleep, clock=clock) == 130
    assert signal.getsignal(signal.SIGTERM) is before
    assert "interrupted; traffic left at 25%" in capsys.readouterr().out
    assert spec_share(fake, "ok") == 25


def test_dry_run_writes_nothing(fake, kubeconfig, recorded, capsys):
    start_canary(fake, "ok")
    writes = len([r for r in fake.requests if r[0] != "GET"])
    clock = Clock(START)
    args = build_parser().parse_args(["canary", "auto", "ok", "--prometheus", recorded, "--dry-run",
                                      "--kubeconfig", str(kubeconfig)])
    assert run_auto(args, kube_for(args), sleep=clock.sleep, clock=clock) == 0
    out = capsys.readouterr().out
    assert "steps 10 -> 25 -> 50 -> 100" in out and "nothing written" in out
    assert '{"spec": {"predictor": {"canaryTrafficPercent": 25}}}' in out  # 10 is already set
    assert "revision_app_request_count" in out
    assert clock.slept == 0
    assert len([r for r in fake.requests if r[0] != "GET"]) == writes


def test_prometheus_lost_mid_rollout_is_undecided(fake, kubeconfig, recorded):
    start_canary(fake, "ok")
    prometheus, clock = Prometheus(recorded), Clock(START)

    def lose(n):
        if n == 2:
            prometheus.url = "http://127.0.0.1:9"
    clock.on_sleep.append(lose)
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "ok", prometheus, [10, 25, 50, 100], 60, LIMITS,
                          window="60s", sleep=clock.sleep, clock=clock)
    assert [d.action for d in result.decisions] == ["plan", "advance", "hold", "hold", "rollback"]
    assert "cannot query Prometheus" in result.decisions[2].reason and result.decisions[2].canary is None
    assert result.exit_code == 5 and spec_share(fake, "ok") == 0


def shadow_key(api: str) -> tuple:
    return ("", "v1", "models", "configmaps", f"{api}-kserve-bridge-shadow")


SHADOW_KEY = shadow_key("ok")


def shadow_seen(fake, clock: Clock, api: str = "ok") -> list:
    """Record, at every sleep, the shadow ConfigMap as the cluster has it then."""
    seen = []
    clock.on_sleep.append(lambda n: seen.append(fake.objects.get(shadow_key(api))))
    return seen


def test_shadow_step_mirrors_then_shifts_and_cleans_up(fake, kubeconfig, recorded, shared_dir, tmp_path):
    import subprocess

    import yaml

    from kserve_bridge.cluster.canary import ShadowOptions
    start_canary(fake, "ok", share=0)
    clock = Clock(START)
    seen = shadow_seen(fake, clock)
    result = rollout(fake, kubeconfig, recorded, "ok", clock,
                     shadow=ShadowOptions(20, interval=120, max_in_flight=3))
    assert result.outcome == "promoted", [d.describe() for d in result.decisions]
    assert actions(result)[:4] == ["plan", "shadow", "shadow", "shadow"]
    assert "mirroring 20% of live requests to http://latest-ok-predictor.models.example.com" in \
        result.decisions[1].reason
    assert result.decisions[2].percent == 0 and result.decisions[2].canary.requests > 100  # judged while dark
    assert result.decisions[3].reason == "mirroring switched off (ConfigMap deleted)"
    assert actions(result)[4:] == ["advance", "advance", "advance", "promote"]
    assert clock.now == START + 120 + 3 * 60  # the shadow interval, then one interval per step
    cm = seen[0]
    assert json.loads(cm["data"]["shadow.json"]) == {
        "target": "http://latest-ok-predictor.models.example.com", "percent": 20, "max_in_flight": 3,
        "source_revision": "ok-predictor-00001"}
    assert seen[1] is None  # switched off before the first shift
    assert SHADOW_KEY not in fake.objects
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in cm.items() if k != "metadata"} | {
        "metadata": {k: cm["metadata"][k] for k in ("name", "namespace", "labels")}}))
    run = subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("api, ending", [("worse", "rolled_back"), ("trickle", "rolled_back_undecided"),
                                         ("ok", "interrupted")])
def test_shadow_config_map_removed_whatever_the_outcome(fake, kubeconfig, recorded, api, ending):
    from kserve_bridge.cluster.canary import ShadowOptions
    start_canary(fake, api, share=0)
    clock = Clock(START)
    seen = shadow_seen(fake, clock, api)
    if ending == "interrupted":
        clock.on_sleep.append(lambda n: (_ for _ in ()).throw(KeyboardInterrupt))
    result = rollout(fake, kubeconfig, recorded, api, clock, shadow=ShadowOptions(50))
    assert result.outcome == ending
    assert seen[0] is not None and shadow_key(api) not in fake.objects
    assert result.decisions[-1].reason == "mirroring switched off (ConfigMap deleted)"
    assert spec_share(fake, api) == 0


def test_shadow_skipped_when_users_already_see_the_canary(fake, kubeconfig, recorded):
    from kserve_bridge.cluster.canary import ShadowOptions
    start_canary(fake, "ok", share=10)
    result = rollout(fake, kubeconfig, recorded, "ok", shadow=ShadowOptions(50))
    assert result.decisions[1].reason == "skipped: the canary already takes 10% of live traffic"
    assert result.outcome == "promoted" and not [k for k in fake.objects if k[3] == "configmaps"]
