"""`canary auto` against a REAL Prometheus scraping real revision processes, with real
traffic split by the (fake) cluster's traffic status: it promotes a healthy canary
and rolls back one that fails or is slow."""
from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.cluster import canary
from kserve_bridge.cluster.canary import Thresholds, auto_rollout
from kserve_bridge.cluster.kube import Kube
from kserve_bridge.cluster.rollout.metrics import Prometheus
from tests.cluster.conftest import ISVC_KEY, isvc
from tests.modelserver.conftest import free_port, wait_for

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
# (api, revision) → revision_server.py arguments; revision 00002 is the canary.
REVISIONS = {
    ("good", 1): [], ("good", 2): [],
    ("bad", 1): [], ("bad", 2): ["--fail-every", "5"],
    ("slow", 1): [], ("slow", 2): ["--delay-ms", "40"],
}
# The real model server (python -m modelserver) as revisions of API "calc": 00002 raises on every 5th input.
CALC_PREDICTOR = """class PythonPredictor:
    def __init__(self, config):
        self.fail_every = int(config.get("fail_every", 0))

    def predict(self, payload):
        x = int(payload["x"])
        if self.fail_every and x % self.fail_every == 0:
            raise RuntimeError(f"cannot handle {x}")
        return {"y": 2 * x}
"""
CALC_FAIL_EVERY = {1: 0, 2: 5}
# Evidence is counted, not timed: the window reaches back past the steps' start, so a loaded machine that
# sends fewer requests per interval only holds longer (up to --max-holds intervals) until it has enough.
FAST = ["--interval", "3s", "--window", "60s", "--min-requests", "30", "--max-holds", "40",
        "--steps", "10,50,100"]
# Two identical revisions differ in latency only by scheduling noise (tens of ms on a loaded box): a test
# that is not about latency lifts the p99 limits out of that noise (test_slow_canary_* judges latency).
NO_LATENCY_LIMITS = ["--max-p99-latency", "60s", "--p99-floor", "60s"]


def has_modelserver() -> bool:
    try:
        import modelserver  # noqa: F401
    except ImportError:
        return False
    return True


def start_modelserver(root: Path, fail_every: int) -> tuple[subprocess.Popen, int]:
    root.mkdir()
    (root / "predictor.py").write_text(CALC_PREDICTOR)
    (root / "cortex.yaml").write_text(yaml.safe_dump([{"name": "calc", "kind": "RealtimeAPI", "predictor": {
        "type": "python", "path": "predictor.py", "config": {"fail_every": fail_every}}}]))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "modelserver", "--model_dir", str(root), "--model_name", "calc",
                             "--http_port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    def answers() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1).close()
        except OSError:
            return False
        return True
    wait_for(answers, f"{url} answering", timeout, poll=0.2, process=proc)


@pytest.fixture(scope="module")
def revision_ports(tmp_path_factory):
    """One real server process per revision; {revision name: port}."""
    procs, ports = [], {}
    try:
        if has_modelserver():
            root = tmp_path_factory.mktemp("calc")
            for n, fail_every in CALC_FAIL_EVERY.items():
                proc, ports[f"calc-predictor-{n:05d}"] = start_modelserver(root / f"rev{n}", fail_every)
                procs.append(proc)
        for (api, n), extra in REVISIONS.items():
            proc = subprocess.Popen([sys.executable, str(HERE / "revision_server.py"), *extra],
                                    stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            ports[f"{api}-predictor-{n:05d}"] = int(proc.stdout.readline())
        for proc, port in zip(procs, ports.values(), strict=True):
            wait_http(f"http://127.0.0.1:{port}/metrics", proc)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


@pytest.fixture(scope="module")
def prometheus(revision_ports, tmp_path_factory):
    """A real Prometheus scraping every revision each second, labelled as Knative would."""
    binary = shutil.which("prometheus")
    if not binary:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    root = tmp_path_factory.mktemp("prom")
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": "revisions", "static_configs": [
                  {"targets": [f"127.0.0.1:{port}"], "labels": {"revision_name": rev, "namespace_name": "models",
                                                                   "namespace": "models"}}
                  for rev, port in revision_ports.items()]}]}
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={root / 'prometheus.yml'}",
                             f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        def scraping() -> bool:
            try:
                return Prometheus(url, timeout=2).query('count(up{job="revisions"} == 1)') == len(revision_ports)
            except Exception:
                return False
        wait_for(scraping, "prometheus scraping every revision", 120, poll=0.3, process=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(60)


@contextmanager
def traffic(fake, api: str, ports: dict[str, int], rate: float = 150.0):
    """Send real requests to the revisions, split as the cluster's traffic status says."""
    stop = threading.Event()
    sent: dict[str, int] = {}
    shares: list[dict[str, int]] = []  # each split the requests followed, in order

    def drive():
        conns: dict[int, http.client.HTTPConnection] = {}
        credit: dict[str, float] = {}
        while not stop.is_set():
            targets = fake.isvc(api)["status"]["components"]["predictor"]["traffic"]
            split = {t["revisionName"]: t["percent"] for t in targets}
            if not shares or shares[-1] != split:
                shares.append(split)
            for t in targets:  # deterministic weighted round robin
                credit[t["revisionName"]] = credit.get(t["revisionName"], 0.0) + t["percent"]
            revision = max(credit, key=credit.get)
            credit[revision] -= 100
            port = ports[revision]
            conn = conns.setdefault(port, http.client.HTTPConnection("127.0.0.1", port, timeout=120))
            sent[revision] = sent.get(revision, 0) + 1  # inputs count per revision: 1, 2, 3...
            conn.request("POST", "/predict", json.dumps({"x": sent[revision]}), {"Content-Type": "application/json"})
            conn.getresponse().read()
            time.sleep(1 / rate)
        for conn in conns.values():
            conn.close()

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    try:
        yield sent, shares
    finally:
        stop.set()
        thread.join(130)


def start_canary(fake, api: str) -> None:
    """Revision 1 serving, canary at 10 %, then revision 2 deployed: the state `canary auto` starts from."""
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:1"))
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:1", canaryTrafficPercent=10))
    fake.write(ISVC_KEY + (api,), isvc(api, image="example/model:2", canaryTrafficPercent=10))
    assert [t["percent"] for t in fake.isvc(api)["status"]["components"]["predictor"]["traffic"]] == [10, 90]


def test_healthy_canary_is_promoted_step_by_step(fake, kubeconfig, prometheus, revision_ports, capsys):
    start_canary(fake, "good")
    with traffic(fake, "good", revision_ports) as (sent, shares):
        code = main(["canary", "auto", "good", "--prometheus", prometheus, *FAST, *NO_LATENCY_LIMITS,
                     "--kubeconfig", str(kubeconfig)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[ 10%] advance" in out and "[ 50%] advance" in out and "[100%] promote" in out
    assert "canary good-predictor-00002:" in out and "stable good-predictor-00001:" in out
    assert "rollback" not in out
    assert "canaryTrafficPercent" not in fake.isvc("good")["spec"]["predictor"]
    assert fake.isvc("good")["status"]["components"]["predictor"]["traffic"][0]["percent"] == 100
    # the real requests followed each step's split: 10 %, 50 % (then all on the canary, if any came after)
    assert [s["good-predictor-00002"] for s in shares] in ([10, 50], [10, 50, 100])
    assert sent["good-predictor-00002"] > 0 and sent["good-predictor-00001"] > 0


def test_failing_canary_is_rolled_back_at_once(fake, kubeconfig, prometheus, revision_ports, capsys):
    start_canary(fake, "bad")
    with traffic(fake, "bad", revision_ports):
        code = main(["canary", "auto", "bad", "--prometheus", prometheus, *FAST, "--kubeconfig", str(kubeconfig)])
    out = capsys.readouterr().out
    assert code == 3, out
    assert "[ 10%] rollback: canary worse: error rate" in out and "> limit 1.00%" in out
    assert "advance" not in out
    assert fake.isvc("bad")["spec"]["predictor"]["canaryTrafficPercent"] == 0
    routes = fake.isvc("bad")["status"]["components"]["predictor"]["traffic"]
    traffic_now = {t["revisionName"]: t["percent"] for t in routes}
    assert traffic_now == {"bad-predictor-00002": 0, "bad-predictor-00001": 100}


def test_slow_canary_is_rolled_back_python_api(fake, kubeconfig, prometheus, revision_ports):
    start_canary(fake, "slow")
    kube = Kube(kubeconfig=str(kubeconfig))
    with traffic(fake, "slow", revision_ports, rate=100):
        result = auto_rollout(kube, "slow", Prometheus(prometheus), [10, 50, 100], 3.0,
                              Thresholds(max_error_rate=0.01, max_p99_ms=20, min_requests=10, max_holds=40),
                              window="60s")
    assert (result.outcome, result.exit_code) == ("rolled_back", 3)
    last = result.decisions[-1]
    assert last.action == "rollback" and "p99" in last.reason and "> limit 20ms" in last.reason
    # every canary request sleeps 40 ms (histogram bucket 25-50 ms or above); stable's p99 is only noise,
    # so it is checked for presence, never compared (a loaded box can stall stable as long)
    assert last.canary.p99_ms >= 25 and last.stable.p99_ms is not None
    assert last.canary.errors == 0
    assert canary.status(kube, "slow").canary_percent == 0


def test_unreachable_prometheus_aborts_without_touching_traffic(fake, kubeconfig, capsys):
    start_canary(fake, "good")
    before = fake.isvc("good")
    writes = len([r for r in fake.requests if r[0] != "GET"])
    code = main(["canary", "auto", "good", "--prometheus", f"http://127.0.0.1:{free_port()}", *FAST,
                 "--kubeconfig", str(kubeconfig)])
    assert code == 4
    assert "cannot query Prometheus" in capsys.readouterr().out
    assert fake.isvc("good") == before
    assert len([r for r in fake.requests if r[0] != "GET"]) == writes


def test_missing_api_or_no_canary_aborts(fake, kubeconfig, capsys):
    args = ["--prometheus", "http://127.0.0.1:9", *FAST, "--kubeconfig", str(kubeconfig)]
    assert main(["canary", "auto", "ghost", *args]) == 4
    assert "not found" in capsys.readouterr().out
    fake.write(ISVC_KEY + ("solo",), isvc("solo"))
    assert main(["canary", "auto", "solo", *args]) == 4
    assert "no canary in progress" in capsys.readouterr().out
    assert not [r for r in fake.requests if r[0] != "GET"]


@pytest.mark.skipif(not has_modelserver(), reason="modelserver is not importable")
def test_real_model_server_failing_canary_rolled_back_with_modelserver_metrics(
        fake, kubeconfig, prometheus, revision_ports, capsys):
    start_canary(fake, "calc")
    with traffic(fake, "calc", revision_ports, rate=100):
        code = main(["canary", "auto", "calc", "--prometheus", prometheus, "--metrics", "modelserver",
                     *FAST, "--min-requests", "10", "--kubeconfig", str(kubeconfig)])
    out = capsys.readouterr().out
    assert code == 3, out
    assert "[ 10%] rollback: canary worse: error rate" in out
    assert "stable calc-predictor-00001:" in out and ", 0 errors (0.00%)" in out
    assert fake.isvc("calc")["spec"]["predictor"]["canaryTrafficPercent"] == 0


def test_too_little_traffic_aborts_and_leaves_traffic(fake, kubeconfig, prometheus, revision_ports, capsys):
    start_canary(fake, "good")
    with traffic(fake, "good", revision_ports, rate=50):
        code = main(["canary", "auto", "good", "--prometheus", prometheus, "--interval", "1s", "--window", "3s",
                     "--min-requests", "100000", "--max-holds", "1", "--on-undecided", "hold",
                     "--kubeconfig", str(kubeconfig)])
    out = capsys.readouterr().out
    assert code == 4, out
    assert "[ 10%] hold: only" in out and "[ 10%] abort:" in out and "traffic left at 10%" in out
    assert fake.isvc("good")["spec"]["predictor"]["canaryTrafficPercent"] == 10


def test_prometheus_query_errors_are_reported(prometheus):
    from kserve_bridge.cluster.rollout.metrics import MetricsUnavailable
    prom = Prometheus(prometheus)
    assert prom.query("vector(2)") == 2.0
    assert prom.query('up{job="no-such-job"}') is None
    with pytest.raises(MetricsUnavailable, match="refused"):
        prom.query("sum(")
