"""Recorded metrics for rollout tests: revisions' request, error and latency series written
as OpenMetrics, backfilled into a real Prometheus with `promtool tsdb create-blocks-from
openmetrics`, queried at chosen instants. The rollout's clock walks through the recording,
so no test waits real intervals."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.modelserver.conftest import free_port, wait_for

STEP = 5  # seconds between samples
KNATIVE_LE = [5, 10, 25, 50, 100, 250, 500, 1000]  # ms
MODELSERVER_LE = [x / 1000 for x in KNATIVE_LE]  # s


@dataclass(frozen=True)
class Series:
    """One revision's traffic: `rate` req/s, `errors` share of 5xx, every latency in bucket
    `bucket` (index into the le list, so p99 lands just under that bound), from `start` to `stop`
    seconds after the recording's origin."""

    revision: str
    rate: float
    errors: float = 0.0
    bucket: int = 3
    start: float = 0
    stop: float = 3600
    flavour: str = "knative"  # or "modelserver"


def openmetrics(series: list[Series], origin: float) -> str:
    families: dict[str, list[str]] = {}

    def add(family: str, labels: dict, value: float, t: float) -> None:
        text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        families.setdefault(family, []).append(f"{family}{{{text}}} {value:.4f} {t:.3f}")

    for s in series:
        les = KNATIVE_LE if s.flavour == "knative" else MODELSERVER_LE
        ns = {"namespace_name": "models"} if s.flavour == "knative" else {"namespace": "models"}
        base = {"revision_name": s.revision, **ns}
        total = 0.0
        for k in range(int(s.start // STEP), int(s.stop // STEP) + 1):
            t = origin + k * STEP
            total = (k - s.start // STEP) * STEP * s.rate
            bad, good = total * s.errors, total * (1 - s.errors)
            if s.flavour == "knative":
                add("revision_app_request_count", {**base, "response_code_class": "2xx"}, good, t)
                add("revision_app_request_count", {**base, "response_code_class": "5xx"}, bad, t)
                for i, le in enumerate([*les, "+Inf"]):
                    add("revision_app_request_latencies_bucket", {**base, "le": le},
                        total if i >= s.bucket else 0.0, t)
            else:
                add("kserve_bridge_requests_total", {**base, "method": "POST", "route": "/predict"}, total, t)
                add("kserve_bridge_request_errors_total", {**base, "route": "/predict"}, bad, t)
                for i, le in enumerate([*les, "+Inf"]):
                    add("kserve_bridge_request_duration_seconds_bucket", {**base, "route": "/predict", "le": le},
                        total if i >= s.bucket else 0.0, t)
    lines = []
    for family, samples in families.items():
        lines.append(f"# TYPE {family} unknown")
        # within a family, every series' samples must be in time order: sort by series then time
        lines.extend(sorted(samples, key=lambda line: (line.rsplit(" ", 2)[0].split("}")[0],
                                                       float(line.rsplit(" ", 1)[1]))))
    return "\n".join(lines) + "\n# EOF\n"


class RecordedPrometheus:
    """A real Prometheus serving backfilled blocks (no scraping)."""

    def __init__(self, root: Path, series: list[Series], origin: float):
        binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
        if not binary or not promtool:
            pytest.skip("prometheus/promtool are not installed (apt-get install prometheus)")
        (root / "series.om").write_text(openmetrics(series, origin))
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "series.om"),
                        str(root / "data")], check=True, capture_output=True)
        (root / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([binary, f"--config.file={root / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={root / 'data'}", "--storage.tsdb.retention.time=30d",
                                      f"--web.listen-address=127.0.0.1:{port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(self.ready, "prometheus ready", 120, poll=0.2, process=self.proc)
        except BaseException:
            self.stop()
            raise

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


class Clock:
    """The rollout's time: `sleep` moves it on, instantly; `on_sleep` hooks run at each sleep."""

    def __init__(self, now: float):
        self.now, self.slept, self.on_sleep = now, 0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += 1
        for hook in list(self.on_sleep):
            hook(self.slept)


ORIGIN = (int(os.environ.get("RECORDED_ORIGIN", "0")) or int(time.time()) - 3 * 3600) // 60 * 60
START = ORIGIN + 600  # the rollout's clock starts 10 minutes into the recording
SERIES = [
    # healthy: same error rate and latency as stable (p99 just under 50ms)
    Series("ok-predictor-00001", 20, 0.001), Series("ok-predictor-00002", 5, 0.001),
    # 0.8% errors: under the 1% ceiling, but stable has none (margin 0.5%)
    Series("worse-predictor-00001", 20), Series("worse-predictor-00002", 5, 0.008),
    # p99 ~100ms: under the 250ms ceiling, but twice stable's ~50ms
    Series("slower-predictor-00001", 20), Series("slower-predictor-00002", 5, bucket=4),
    # perfect figures, 3 requests a minute
    Series("trickle-predictor-00001", 20), Series("trickle-predictor-00002", 0.05),
    # healthy until its series stop, 100s into the rollout
    Series("vanish-predictor-00001", 20), Series("vanish-predictor-00002", 5, stop=700),
    # RawDeployment: the model server's own metrics, by Deployment name
    Series("raw-predictor", 20, flavour="modelserver"), Series("raw-v2-predictor", 5, flavour="modelserver"),
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    prom = RecordedPrometheus(tmp_path_factory.mktemp("recorded"), SERIES, ORIGIN)
    yield prom.url
    prom.stop()


