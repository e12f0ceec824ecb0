"""Kubeflow Pipelines components (KFP v2, `kfp.dsl`): deploy an API, and roll a canary out
judged on Prometheus metrics.

    from kserve_bridge.kfp import deploy, canary_rollout

    deployed = deploy(api_spec=SPEC, name="iris", project=train_task.outputs["project"], canary=10)
    canary_rollout(api="iris", prometheus="http://prometheus.monitoring:9090").after(deployed)

`deploy` reads the project (cortex.yaml's files: predictor.py, the model, ...) from an artifact
directory, uploads it and applies the InferenceService; outputs: `deployment_id`, `url` and
`outcome` (deployed, unchanged or canary: a new version of an API already serving takes `canary`
% as a canary). `canary_rollout` drives that canary (`kserve-bridge canary auto`): its outputs
are `outcome` (promoted, rolled_back, ..., or no_canary when nothing was on trial) and `report`,
the decisions as a JSON artifact. Both read the cluster from KUBECONFIG (or the pod's service
account), the storage from KSERVE_BRIDGE_STORAGE_URI and its credentials from the AWS (or GCS,
Azure) variables. They run on `BASE_IMAGE` with `PACKAGES` installed; `components(image,
packages)` builds them for an image of yours. Importing this module needs `kfp`; nothing else in
kserve_bridge imports it.
"""
from typing import NamedTuple

from kfp import dsl

BASE_IMAGE = "python:3.11-slim"
PACKAGES = ["kserve-bridge[cluster]"]


def deploy(api_spec: dict, project: dsl.Input[dsl.Artifact], name: str = "", canary: int = 10,
            namespace: str = "", storage_uri: str = "", timeout: float = 600
            ) -> NamedTuple("DeployOutputs", [("deployment_id", str), ("url", str), ("outcome", str)]):  # type: ignore[valid-type]  # noqa: UP014
    """Deploy `api_spec` (its `name` replaced by `name` when given) from the project in `project`;
    an API already serving gets the new version as a canary with `canary` % of traffic."""
    from collections import namedtuple

    import kserve_bridge

    spec = dict(api_spec, name=name) if name else dict(api_spec)
    client = kserve_bridge.client(namespace=namespace or None, storage_uri=storage_uri or None)
    result = kserve_bridge.release(client, spec, project.path, canary=canary, timeout=timeout)
    DeployOutputs = namedtuple("DeployOutputs", ["deployment_id", "url", "outcome"])
    return DeployOutputs(result.deployment_id or "", result.url or "", result.outcome)


def canary_rollout(api: str, prometheus: str, report: dsl.Output[dsl.Artifact], steps: list = [10, 25, 50, 100],  # noqa: B006
                    interval: float = 60, window: str = "", max_error_rate: float = 0.01,
                    max_p99_latency_ms: float = 250, min_requests: int = 100, max_holds: int = 3,
                    on_undecided: str = "rollback", namespace: str = "") -> str:
    """Promote the canary of `api` step by step while it holds up against the stable version on
    `prometheus`'s metrics, or roll it back; returns the outcome, writes the decisions to `report`."""
    import json

    from kserve_bridge.cluster.canary import Thresholds, auto_rollout, state
    from kserve_bridge.cluster.kube import Kube
    from kserve_bridge.cluster.rollout.metrics import Prometheus

    kube = Kube(namespace=namespace or None)
    if not state(kube, api).in_progress:  # a first version, or the same one again: nothing on trial
        with open(report.path, "w") as out:
            json.dump({"api": api, "namespace": kube.namespace, "outcome": "no_canary", "decisions": []}, out)
        report.metadata["outcome"] = "no_canary"
        return "no_canary"
    limits = Thresholds(max_error_rate=max_error_rate, max_p99_ms=max_p99_latency_ms, min_requests=min_requests,
                        max_holds=max_holds)
    result = auto_rollout(kube, api, Prometheus(prometheus), [int(p) for p in steps], interval, limits,
                          window=window or None, on_undecided=on_undecided,
                          on_decision=lambda d: print(d.describe(), flush=True))
    result.write(report.path)
    report.metadata.update(outcome=result.outcome, canary=result.canary or "", stable=result.stable or "")
    return result.outcome


def components(image: str = BASE_IMAGE, packages: list[str] | None = None) -> tuple:
    """(deploy, canary_rollout) as KFP components that run on `image` with `packages` pip-installed
    (default: kserve-bridge with its cluster extra; pass [] for an image that has it)."""
    options = {"base_image": image, "packages_to_install": PACKAGES if packages is None else packages}
    return tuple(dsl.component(function, **options) for function in _FUNCTIONS)


_FUNCTIONS = (deploy, canary_rollout)  # each runs in the component's container from its own source
deploy, canary_rollout = components()
