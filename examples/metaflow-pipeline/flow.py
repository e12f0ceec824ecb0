"""Train an iris classifier, deploy it to KServe with kserve-bridge and roll it out.

    KUBECONFIG=~/.kube/config KSERVE_BRIDGE_STORAGE_URI=s3://my-bucket/apis python flow.py run

The cluster comes from KUBECONFIG (its current context and namespace), the storage the project
is uploaded to from KSERVE_BRIDGE_STORAGE_URI, its credentials from the AWS variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, ...). The first run deploys the
model; a later run with another model deploys it as a canary taking --canary percent of the
traffic, and, when PROMETHEUS_URL is set, judges it against the stable version step by step
until it is promoted or rolled back (without it, the canary waits at its share for
`kserve-bridge canary auto`). The model version, the deployment id, the URL and the rollout
report become artifacts of the run.
"""
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from metaflow import FlowSpec, Parameter, step

HERE = Path(__file__).resolve().parent


class IrisReleaseFlow(FlowSpec):
    api = Parameter("api", default="iris-metaflow", help="API name (a DNS label)")
    regularization = Parameter("regularization", type=float, default=1.0,
                               help="LogisticRegression's C: another value trains another model version")
    canary = Parameter("canary", type=int, default=10, help="share a new version starts with, percent")
    steps = Parameter("steps", default="10,50,100", help="shares of the judged rollout, percent")
    interval = Parameter("interval", type=float, default=60.0, help="seconds observed at each share")
    window = Parameter("window", default="", help="PromQL range of each query (default: the interval)")
    deployment_mode = Parameter("deployment-mode", default="Serverless", help="Serverless or RawDeployment")

    @step
    def start(self):
        """Train, and name the model by its bytes: the same model is the same version."""
        import joblib
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        features, labels = load_iris(return_X_y=True)
        model = LogisticRegression(C=self.regularization, max_iter=1000).fit(features, labels)
        self.accuracy = float(model.score(features, labels))
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        self.model = buffer.getvalue()
        self.model_version = hashlib.sha256(self.model).hexdigest()[:12]
        self.next(self.deploy)

    @step
    def deploy(self):
        """Write the project (predictor + model), deploy it and roll it out."""
        import kserve_bridge

        project = Path(tempfile.mkdtemp(prefix=f"{self.api}-"))
        try:
            shutil.copy(HERE / "predictor.py", project / "predictor.py")
            (project / "model.joblib").write_bytes(self.model)
            spec = {"name": self.api, "kind": "RealtimeAPI",
                    "predictor": {"type": "python", "path": "predictor.py",
                                  "config": {"model": "model.joblib", "model_version": self.model_version}},
                    "kserve": {"deployment_mode": self.deployment_mode}}
            result = kserve_bridge.release(
                kserve_bridge.client(), spec, project, canary=self.canary,
                prometheus=os.environ.get("PROMETHEUS_URL"),
                steps=[int(p) for p in self.steps.split(",")], interval=self.interval, window=self.window or None)
        finally:
            shutil.rmtree(project, ignore_errors=True)
        self.deployment_id, self.url, self.outcome = result.deployment_id, result.url, result.outcome
        self.rollout_report = result.report
        self.released = result.ok
        self.next(self.end)

    @step
    def end(self):
        print(f"{self.api}: model {self.model_version} (accuracy {self.accuracy:.3f}), deployment "
              f"{self.deployment_id}: {self.outcome} at {self.url}")
        if not self.released:
            raise RuntimeError(f"{self.api}: the new version was not released ({self.outcome}); "
                               "see the rollout_report artifact")


if __name__ == "__main__":
    IrisReleaseFlow()
