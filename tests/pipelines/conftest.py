"""The pipeline tools' runs against the Kubernetes API double (over HTTP, a kubeconfig pointing
at it), moto's S3 server and a real Prometheus whose recorded series cover the present (the
rollout runs in real time there, with short intervals)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.conftest import fake, kubeconfig  # noqa: F401  (fixtures)
from tests.cluster.recorded import RecordedPrometheus, Series
from tests.storage.conftest import s3  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
STORAGE_URI = "s3://models/apis"


@pytest.fixture
def pipeline_env(kubeconfig, s3, tmp_path) -> dict[str, str]:  # noqa: F811
    """What a pipeline run reads: KUBECONFIG, KSERVE_BRIDGE_STORAGE_URI and the AWS variables."""
    return {**os.environ, "KUBECONFIG": str(kubeconfig), "KSERVE_BRIDGE_STORAGE_URI": STORAGE_URI,
            "PYTHONPATH": str(REPO), "USER": "tester", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def live_prometheus(tmp_path_factory) -> Callable[..., str]:
    """Start a Prometheus holding `series` from half an hour ago to half an hour ahead; returns its URL."""
    started: list[RecordedPrometheus] = []

    def start(*series: Series) -> str:
        origin = int(time.time()) // 60 * 60 - 1800
        prom = RecordedPrometheus(tmp_path_factory.mktemp("live"), list(series), origin)
        started.append(prom)
        return prom.url
    yield start
    for prom in started:
        prom.stop()


@pytest.fixture
def kfp_python() -> str:
    """This interpreter, which must have kfp: kfp pins an older kubernetes, so scripts/test.sh runs
    these tests again in the pipelines venv (.venv-pipelines) that has it."""
    import sys
    pytest.importorskip("kfp")
    return sys.executable
