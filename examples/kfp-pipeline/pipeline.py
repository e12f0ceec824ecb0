"""Train an iris classifier, deploy it to KServe and roll it out: a Kubeflow Pipeline.

    python pipeline.py            # compile: writes iris_release.yaml (upload it to Kubeflow Pipelines)
    python pipeline.py --local    # run it here with kfp.local (each step a subprocess)

Locally the steps read the cluster from KUBECONFIG, the storage the project is uploaded to from
KSERVE_BRIDGE_STORAGE_URI and its credentials from the AWS variables; in Kubeflow the same
variables come from the pipeline's pods (the service account for the cluster). Pipeline
arguments for --local: --arg NAME=VALUE (e.g. --arg regularization=0.5 --arg
prometheus=http://127.0.0.1:9090). The first run deploys; a run with another model deploys it
as a canary taking `canary` percent and, with `prometheus`, judges it step by step against the
stable version until it is promoted or rolled back (`kserve_bridge.kfp`).
"""
import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

from kfp import compiler, dsl

from kserve_bridge.kfp import canary_rollout, deploy

HERE = Path(__file__).resolve().parent
PREDICTOR = (HERE / "predictor.py").read_text()
SPEC = {"kind": "RealtimeAPI",
        "predictor": {"type": "python", "path": "predictor.py",
                      "config": {"model": "model.joblib", "version_file": "model_version"}},
        "compute": {"cpu": "200m", "mem": "256Mi"}}


@dsl.component(base_image="python:3.11-slim", packages_to_install=["scikit-learn", "joblib"])
def train(regularization: float, predictor_source: str, project: dsl.Output[dsl.Artifact]) -> str:
    """Fit the model; write the project (predictor.py, model.joblib, model_version); return the version,
    named by the model's bytes (the same model is the same version)."""
    import hashlib
    import io
    import os

    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(C=regularization, max_iter=1000).fit(features, labels)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    version = hashlib.sha256(buffer.getvalue()).hexdigest()[:12]
    os.makedirs(project.path, exist_ok=True)
    files = {"predictor.py": predictor_source.encode(), "model.joblib": buffer.getvalue(),
             "model_version": version.encode()}
    for name, data in files.items():
        with open(os.path.join(project.path, name), "wb") as out:
            out.write(data)
    project.metadata.update(model_version=version, accuracy=float(model.score(features, labels)))
    return version


@dsl.pipeline(name="iris-release", description="Train, deploy with kserve-bridge, roll out a judged canary")
def iris_release(api: str = "iris-kfp", regularization: float = 1.0, canary: int = 10, prometheus: str = "",
                 steps: list = [10, 25, 50, 100], interval: float = 60, window: str = ""  # noqa: B006
                 ) -> NamedTuple("Outputs", [("model_version", str), ("deployment_id", str), ("url", str),  # noqa: UP014
                                             ("outcome", str), ("report", dsl.Artifact)]):
    trained = train(regularization=regularization, predictor_source=PREDICTOR)
    deployed = deploy(api_spec=SPEC, name=api, project=trained.outputs["project"], canary=canary)
    rolled = canary_rollout(api=api, prometheus=prometheus, steps=steps, interval=interval, window=window)
    rolled.after(deployed)
    outputs = NamedTuple("Outputs", [("model_version", str), ("deployment_id", str), ("url", str),  # noqa: UP014
                                     ("outcome", str), ("report", dsl.Artifact)])
    return outputs(trained.outputs["Output"], deployed.outputs["deployment_id"], deployed.outputs["url"],
                   rolled.outputs["Output"], rolled.outputs["report"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="run with kfp.local instead of compiling")
    parser.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE", help="a pipeline argument")
    parser.add_argument("--output", default=str(HERE / "iris_release.yaml"), help="where to write the spec")
    parser.add_argument("--pipeline-root", default=str(HERE / "local_outputs"), help="--local: where outputs go")
    args = parser.parse_args(argv)
    if not args.local:
        compiler.Compiler().compile(iris_release, args.output)
        print(f"wrote {args.output}")
        return 0
    from kfp import local
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=args.pipeline_root)
    types = {"regularization": float, "canary": int, "interval": float, "steps": json.loads}
    arguments = {}
    for item in args.arg:
        name, _, value = item.partition("=")
        arguments[name] = types.get(name, str)(value)
    run = iris_release(**arguments).outputs
    print(json.dumps({"model_version": run["model_version"], "deployment_id": run["deployment_id"],
                      "url": run["url"], "outcome": run["outcome"], "report": run["report"].path}))
    return 0 if run["outcome"] in ("promoted", "no_canary") else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
