"""The model server's side of the shadow step, over real HTTP: a real `python -m
modelserver` copies its share of predict requests to a recording server standing for the
canary, never more than `max_in_flight` at once, and answers its own users all the while."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.cluster.test_rollout import CALC_PREDICTOR, has_modelserver, wait_http
from tests.modelserver.conftest import free_port, wait_for

pytestmark = pytest.mark.skipif(not has_modelserver(), reason="modelserver is not importable")


class Recorder:
    """The canary: records each copy; while `gate` is clear, holds copies open."""

    def __init__(self):
        self.copies: list[tuple[str, bytes, str | None]] = []
        self.in_progress = self.most_in_progress = 0
        self.gate = threading.Event()
        self.gate.set()
        self.changed = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder.changed:
                    recorder.in_progress += 1
                    recorder.most_in_progress = max(recorder.most_in_progress, recorder.in_progress)
                    recorder.changed.notify_all()
                recorder.gate.wait(30)
                with recorder.changed:
                    recorder.in_progress -= 1
                    recorder.copies.append((self.path, body, self.headers.get("X-Kserve-Bridge-Shadow")))
                    recorder.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def wait_for(self, predicate, timeout: float = 120) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), (len(self.copies), self.in_progress)

    def stop(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def canary():
    recorder = Recorder()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="module")
def stable(canary, tmp_path_factory):
    """A real model server whose shadow file sends every 2nd predict request to the recorder, 2 at most."""
    root = tmp_path_factory.mktemp("stable")
    (root / "predictor.py").write_text(CALC_PREDICTOR)
    (root / "cortex.yaml").write_text(yaml.safe_dump([{"name": "calc", "kind": "RealtimeAPI", "predictor": {
        "type": "python", "path": "predictor.py"}}]))
    (root / "shadow.json").write_text(json.dumps({"target": canary.url, "percent": 50, "max_in_flight": 2,
                                                  "source_revision": "calc-predictor-00001"}))
    port = free_port()
    env = dict(os.environ, KSERVE_BRIDGE_SHADOW_FILE=str(root / "shadow.json"), K_REVISION="calc-predictor-00001")
    proc = subprocess.Popen([sys.executable, "-m", "modelserver", "--model_dir", str(root), "--model_name", "calc",
                             "--http_port", str(port), "--host", "127.0.0.1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(60)


def post(conn: http.client.HTTPConnection, path: str, x: int, headers: dict | None = None) -> dict:
    conn.request("POST", path, json.dumps({"x": x}), {"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def copies_metric(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60).read().decode()
    return {r: sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith(f'kserve_bridge_shadow_copies_total{{result="{r}"}}'))
            for r in ("sent", "dropped", "failed")}


def wait_metric(port: int, predicate, timeout: float = 120) -> dict[str, float]:
    """Poll the stable's /metrics until `predicate(copies)` holds (a copy is counted once it ended)."""
    def counted() -> dict[str, float] | None:
        got = copies_metric(port)
        return got if predicate(got) else None  # never empty: one entry per result
    return wait_for(counted, "the shadow copies counted", timeout, poll=0.05)


def test_share_of_requests_copied_with_marker_and_body(stable, canary):
    conn = http.client.HTTPConnection("127.0.0.1", stable, timeout=10)
    before = copies_metric(stable)
    for x in range(1, 21):
        assert post(conn, "/predict", x) == {"y": 2 * x}
    conn.close()
    # every 2nd request: sent, or dropped when both slots were busy
    got = wait_metric(stable, lambda m: sum(m.values()) - sum(before.values()) == 10)
    assert got["failed"] == before["failed"] and got["sent"] > before["sent"]
    assert len(canary.copies) == got["sent"] - before["sent"]
    for path, body, marker in canary.copies:
        assert path == "/predict" and marker == "1" and json.loads(body)["x"] % 2 == 0


def test_extra_load_is_bounded_and_users_are_answered(stable, canary):
    canary.gate.clear()  # the canary hangs: copies pile up only to the bound
    canary.copies.clear()
    before = copies_metric(stable)
    conn = http.client.HTTPConnection("127.0.0.1", stable, timeout=10)
    try:
        for x in range(1, 41):
            assert post(conn, "/v1/models/calc:predict", x) == {"y": 2 * x}
        canary.wait_for(lambda: canary.in_progress == 2)
        after = copies_metric(stable)
        assert after["dropped"] - before["dropped"] >= 18  # 20 copies due, 2 slots
        assert canary.most_in_progress == 2
    finally:
        conn.close()
        canary.gate.set()
    canary.wait_for(lambda: canary.in_progress == 0 and len(canary.copies) == 2)


def test_copies_are_not_copied_again(stable, canary):
    canary.copies.clear()
    conn = http.client.HTTPConnection("127.0.0.1", stable, timeout=10)
    for x in (101, 103, 105, 107):
        post(conn, "/predict", x, {"X-Kserve-Bridge-Shadow": "1"})
    post(conn, "/predict", 200)
    post(conn, "/predict", 202)
    conn.close()
    canary.wait_for(lambda: len(canary.copies) >= 1 and canary.in_progress == 0)
    assert [json.loads(body)["x"] for _, body, _ in canary.copies] in ([200], [202])


def test_mirror_configuration(tmp_path, canary, monkeypatch):
    from modelserver.shadow import Mirror, ShadowConfig
    path = tmp_path / "shadow.json"
    mirror = Mirror(str(path), reload_seconds=0)
    try:
        assert mirror.offer("/predict", b"{}", "application/json", []) is False  # no file: off
        path.write_text(json.dumps({"target": canary.url, "percent": 100, "max_in_flight": 1}))
        canary.copies.clear()
        assert mirror.offer("/predict", b'{"x": 1}', "application/json", []) is True
        canary.wait_for(lambda: len(canary.copies) == 1 and canary.in_progress == 0)
        path.write_text(json.dumps({"target": canary.url, "percent": 100, "source_revision": "other"}))
        monkeypatch.setenv("K_REVISION", "mine")
        assert mirror.offer("/predict", b"{}", "application/json", []) is False  # another revision's job
        path.write_text(json.dumps({"target": "ftp://x", "percent": 10}))
        assert mirror.offer("/predict", b"{}", "application/json", []) is False  # bad file: off, logged
        path.unlink()
        assert mirror.offer("/predict", b"{}", "application/json", []) is False
    finally:
        mirror.close()  # its copying threads end with the test
    with pytest.raises(ValueError):
        ShadowConfig.parse({"target": "http://a", "percent": 150})
    assert ShadowConfig.parse({"target": "http://a", "percent": 0}) is None


def test_translated_predictor_mounts_what_the_rollout_creates_where_the_server_reads(monkeypatch):
    """The three parts meet: translator mount, rollout ConfigMap, model server file."""
    from pathlib import Path

    from kserve_bridge.cluster.rollout.shadow import ShadowOptions, config_map
    from kserve_bridge.translator import translate
    from modelserver.shadow import from_env
    example = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"
    isvc = next(o for o in translate(example, storage_uri="s3://b/iris") if o["kind"] == "InferenceService")
    predictor = isvc["spec"]["predictor"]
    volume = next(v for v in predictor["volumes"] if "configMap" in v)
    container = predictor.get("model") or predictor["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    cm = config_map(isvc["metadata"]["name"], "models", "http://canary", "rev-1", ShadowOptions(10))
    assert volume["configMap"] == {"name": cm["metadata"]["name"], "optional": True}
    monkeypatch.delenv("KSERVE_BRIDGE_SHADOW_FILE", raising=False)
    (key,) = cm["data"]
    assert from_env().path == f"{mount['mountPath']}/{key}" and mount["readOnly"] is True
