"""`--smoke FILE`: requests sent over real HTTP to the canary's own URL before any traffic
moves; a failing answer rolls the canary back and no share is raised."""
from __future__ import annotations

import threading

import pytest
import yaml

from kserve_bridge.cli import build_parser
from kserve_bridge.cli.canary import run_auto
from kserve_bridge.cli.cluster import kube_for
from kserve_bridge.cluster.rollout import load_smoke, run_smoke
from kserve_bridge.cluster.rollout.traffic import read_state
from kserve_bridge.errors import BridgeError
from tests.cluster.recorded import START, Clock
from tests.cluster.revision_server import serve
from tests.cluster.test_rollout_judged import start_canary


@pytest.fixture
def revision():
    """A real HTTP server standing for the canary revision; every 5th input fails."""
    httpd = serve(fail_every=5, delay_ms=0)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def smoke_file(tmp_path, requests) -> str:
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(requests))
    return str(path)


def auto(kubeconfig, recorded, *extra):
    args = build_parser().parse_args(["canary", "auto", "ok", "--prometheus", recorded, "--interval", "60s",
                                      "--kubeconfig", str(kubeconfig), *extra])
    clock = Clock(START)
    return run_auto(args, kube_for(args), sleep=clock.sleep, clock=clock), clock


def test_passing_smoke_then_rollout(fake, kubeconfig, recorded, revision, tmp_path, capsys):
    start_canary(fake, "ok")
    path = smoke_file(tmp_path, [{"path": "/predict", "body": {"x": 2}, "expect_body": {"y": 4}},
                                 {"path": "/predict", "body": {"x": 3}, "expect_status": 200}])
    code, _ = auto(kubeconfig, recorded, "--smoke", path, "--smoke-url", revision)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"smoke: 2 request(s) to {revision} answered as expected" in out
    assert out.index("smoke:") < out.index("advance:")


@pytest.mark.parametrize("request_, words", [
    ({"path": "/predict", "body": {"x": 5}}, "#1 POST /predict: HTTP 500"),
    ({"path": "/predict", "body": {"x": 2}, "expect_body": {"y": 5}}, "body {'y': 4} != expected {'y': 5}"),
    ({"path": "/nope"}, "#1 GET /nope: HTTP 404"),
])
def test_failing_smoke_rolls_back_before_any_shift(fake, kubeconfig, recorded, revision, tmp_path, capsys,
                                                   request_, words):
    start_canary(fake, "ok", share=0)  # dark: the smoke check is its first user
    code, clock = auto(kubeconfig, recorded, "--smoke", smoke_file(tmp_path, [request_]), "--smoke-url", revision)
    out = capsys.readouterr().out
    assert code == 3, out
    assert "rollback: smoke check against" in out and words in out
    assert clock.slept == 0 and "advance" not in out
    assert fake.isvc("ok")["spec"]["predictor"]["canaryTrafficPercent"] == 0
    canary_writes = [r for r in fake.requests if r[0] == "PATCH" and "kserve-bridge-canary" in r[1]]
    assert not canary_writes  # already at 0: nothing was shifted, not even to roll back


def test_smoke_url_defaults_to_the_latest_tag_url(fake):
    start_canary(fake, "ok")
    assert read_state(fake.isvc("ok")).canary_url == "http://latest-ok-predictor.models.example.com"


def test_unreachable_canary_fails_smoke(tmp_path):
    requests = load_smoke(smoke_file(tmp_path, [{"path": "/"}]))
    assert "#1 GET /: no answer from http://127.0.0.1:9" in run_smoke("http://127.0.0.1:9", requests)[0]


@pytest.mark.parametrize("content, words", [
    ("{}", "non-empty list"), ("[]", "non-empty list"), ("- 3", "request 1: expected a mapping"),
    ("- {path: predict}", "path must be a string starting with /"),
    ("- {path: /p, expect_status: 999}", "expect_status must be an HTTP status code"),
    ("- {path: /p, bodyy: 1}", "unknown field(s) bodyy"), ("- [", "cannot read smoke file"),
])
def test_bad_smoke_file_is_refused_before_anything(fake, kubeconfig, tmp_path, capsys, content, words):
    start_canary(fake, "ok")
    (tmp_path / "smoke.yaml").write_text(content)
    writes = len(fake.requests)
    assert main_auto(kubeconfig, tmp_path / "smoke.yaml") == 1
    assert words in capsys.readouterr().err
    assert len(fake.requests) == writes
    with pytest.raises(BridgeError):
        load_smoke(tmp_path / "smoke.yaml")


def main_auto(kubeconfig, smoke) -> int:
    from kserve_bridge.cli import main
    return main(["canary", "auto", "ok", "--prometheus", "http://127.0.0.1:9", "--smoke", str(smoke),
                 "--kubeconfig", str(kubeconfig)])
