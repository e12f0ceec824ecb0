"""A real MLflow tracking server (sqlite backend) whose artifacts live in moto's S3 server, both on
loopback, and the environment every client here needs: MLflow's, boto3's and kserve_storage's."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cluster.conftest import fake, kubeconfig  # noqa: F401  (fixtures)
from tests.modelserver.conftest import free_port, serve, wait_for  # noqa: F401  (serve: a fixture)
from tests.monitoring.conftest import load_script

stop = load_script("monitoring_stack").stop  # the one process-group stop

BUCKET = "models"


@dataclass
class Registry:
    url: str
    s3: str
    client: object  # mlflow.MlflowClient

    def register(self, name: str, c: float) -> tuple[str, str]:
        """Train iris (LogisticRegression with C=c), log it as a run's sklearn model, register it under
        `name`; returns (version, run id)."""
        import mlflow
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        x, y = load_iris(return_X_y=True)
        model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name,
                                            serialization_format="cloudpickle")
        return str(info.registered_model_version), run.info.run_id


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    """`mlflow server` with --default-artifact-root s3://models/mlflow and --no-serve-artifacts, so a
    registered version's artifacts sit at an s3:// location the model server fetches itself."""
    pytest.importorskip("mlflow", reason="needs the mlflow server package (scripts/install.sh: .venv-pipelines)")
    pytest.importorskip("sklearn")
    from moto.server import ThreadedMotoServer

    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    host, port = s3.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    work = tmp_path_factory.mktemp("mlflow")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KSERVE_BRIDGE_STORAGE_URI"):
            mp.delenv(name, raising=False)
        mp.setenv("MLFLOW_TRACKING_URI", url)
        import boto3
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        log = (work / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1],
             "--workers", "1", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}", "--default-artifact-root",
             f"s3://{BUCKET}/mlflow", "--no-serve-artifacts"], stdout=log, stderr=subprocess.STDOUT, cwd=work,
            start_new_session=True)  # its own group: gunicorn's worker stops with it
        try:
            wait_for(lambda: _healthy(url, server, work / "server.log"), "mlflow server /health", timeout=300)
            import mlflow
            mlflow.set_tracking_uri(url)
            yield Registry(url, endpoint, mlflow.MlflowClient(url))
        finally:
            stop(server)
            log.close()
            s3.stop()


def _healthy(url: str, server: subprocess.Popen, log: Path) -> bool:
    if server.poll() is not None:
        pytest.fail(f"mlflow server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
    try:
        return httpx.get(url + "/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
