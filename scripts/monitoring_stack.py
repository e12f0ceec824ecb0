"""A local monitoring stack from real parts: `kserve-bridge serve` processes scraped by a real Prometheus.

Used by tests/monitoring (every dashboard query and alert against real data) and by
scripts/render_dashboard.py --demo (the picture in docs/monitoring.md). Prometheus labels
each server's series as the PodMonitor does in a cluster: namespace, pod, revision_name.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from loopback import free_port, wait_until  # scripts/ is on sys.path: run from there or via load_script

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "manifests" / "monitoring" / "prometheus-rule.yaml"
QUIET = {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}


def _get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL after 15 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


def serve(project: Path, port: int, log: Path, *args: str) -> subprocess.Popen:
    """`kserve-bridge serve PROJECT --port PORT ARGS`, ready (GET /readyz 200) when this returns."""
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "kserve_bridge", "serve", str(project), "--port", str(port),
                             *args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **QUIET})

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return _get_json(f"http://127.0.0.1:{port}/readyz", timeout=2).get("ready", False)
        except OSError:
            return False
    try:
        wait_until(ready, 120, f"server on port {port} ready")
    except BaseException:
        stop(proc)
        raise
    return proc


class PromQL:
    """Prometheus' HTTP API at `url`."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def api(self, path: str, **params: Any) -> Any:
        body = _get_json(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}", timeout=10)
        if body.get("status") != "success":
            raise ValueError(f"{path} {params}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str) -> list[dict]:
        """Instant query: the result vector (raises ValueError on a query Prometheus rejects)."""
        return self.api("query", query=promql)["result"]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[dict]:
        return self.api("query_range", query=promql, start=start, end=end, step=step)["result"]


class Prometheus(PromQL):
    """A real Prometheus on loopback scraping `targets` every second, with the PrometheusRule loaded."""

    def __init__(self, root: Path, targets: list[tuple[int, dict[str, str]]], scrape_s: int = 1):
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus is not installed (apt-get install prometheus)")
        root.mkdir(parents=True, exist_ok=True)
        (root / "rules.yaml").write_text(yaml.safe_dump(yaml.safe_load(RULES.read_text())["spec"]))
        config = {"global": {"scrape_interval": f"{scrape_s}s", "evaluation_interval": f"{scrape_s}s"},
                  "rule_files": [str(root / "rules.yaml")],
                  "scrape_configs": [{"job_name": "kserve-bridge", "static_configs": [
                      {"targets": [f"127.0.0.1:{port}"], "labels": labels} for port, labels in targets]}]}
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        super().__init__(f"http://127.0.0.1:{port}")
        self.log = (root / "prometheus.log").open("w")
        self.proc = subprocess.Popen([binary, f"--config.file={root / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: self._up() == len(targets), 120, "Prometheus scraping every server")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> int:
        if self.proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
        try:
            return int(sum(float(r["value"][1]) for r in self.query("up == 1")))
        except OSError:
            return 0

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


EXAMPLE = REPO / "examples" / "payload-logging"
ROWS = [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
        {"sepal_length": 5.9, "sepal_width": 2.8, "petal_length": 4.2, "petal_width": 1.3},
        {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}]


def watched_project(dst: Path, **kserve: Any) -> Path:
    """examples/payload-logging copied to `dst` with its model trained, at most 4 requests in flight per
    server (so that a burst shows 503s) and `kserve` merged into its kserve section."""
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("model", "expected", "__pycache__"))
    subprocess.run([sys.executable, "make_model.py"], cwd=dst, check=True, capture_output=True, timeout=300)
    spec = yaml.safe_load((dst / "cortex.yaml").read_text())
    spec[0]["autoscaling"]["max_replica_concurrency"] = 4
    spec[0]["kserve"].update(kserve)
    (dst / "cortex.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dst


def call(url: str, body: Any, headers: dict[str, str] | None = None) -> int:
    """POST JSON; the HTTP status."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def traffic(url: str, requests: int, bad_every: int = 0, threads: int = 4) -> dict[int, int]:
    """`requests` predictions from `threads` callers (every `bad_every`-th malformed); count per status."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        bad = bad_every and i % bad_every == bad_every - 1
        return call(url, {"sepal_length": 1.0} if bad else ROWS[i % len(ROWS)], {"x-request-id": f"load-{i}"})
    with ThreadPoolExecutor(threads) as pool:
        return dict(Counter(pool.map(one, range(requests))))


def reference_rows(project: Path, count: int, shift: dict[str, float] | None = None, seed: int = 0) -> list[dict]:
    """`count` request bodies drawn (with replacement, seeded) from the project's reference.csv, the features
    in `shift` moved by that many of their standard deviations (drift's tests and demo)."""
    import csv
    import random
    import statistics

    with (project / "reference.csv").open(newline="") as handle:
        rows = [{k: float(v) for k, v in row.items() if k != "prediction"} for row in csv.DictReader(handle)]
    moves = {name: by * statistics.pstdev(r[name] for r in rows) for name, by in (shift or {}).items()}
    draw = random.Random(seed)
    return [{k: round(v + moves.get(k, 0.0), 1) for k, v in draw.choice(rows).items()} for _ in range(count)]


def send(url: str, bodies: list[dict], threads: int = 4) -> dict[int, int]:
    """POST each body from `threads` callers; count per status."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return dict(Counter(pool.map(lambda body: call(url, body), bodies)))


def burst_until_503(url: str, width: int = 24, tries: int = 20) -> dict[int, int]:
    """Bursts of `width` simultaneous predictions until the server rejects one (503), at most `tries`."""
    seen: dict[int, int] = {}
    for _ in range(tries):
        for status, count in traffic(url, width, threads=width).items():
            seen[status] = seen.get(status, 0) + count
        if 503 in seen:
            break
    return seen
