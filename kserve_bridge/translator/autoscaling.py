"""Cortex autoscaling -> KServe replica fields + Knative annotations (Serverless) or HPA (RawDeployment)."""
from __future__ import annotations

from ..spec.models import RealtimeAPI
from ..spec.units import format_duration
from .record import Record

KNATIVE = "autoscaling.knative.dev/"
KNATIVE_CLASSES = {"kpa": "kpa.autoscaling.knative.dev", "hpa": "hpa.autoscaling.knative.dev"}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def autoscaling(api: RealtimeAPI, rec: Record) -> tuple[dict, dict]:
    """(predictor fields, annotations) for the API's autoscaling block."""
    auto, opts = api.autoscaling, api.kserve
    fields: dict = {"minReplicas": auto.min_replicas, "maxReplicas": auto.max_replicas}
    rec.map("autoscaling.min_replicas", f"spec.predictor.minReplicas = {auto.min_replicas}"
            + (" (scale to zero)" if auto.min_replicas == 0 else ""))
    rec.map("autoscaling.max_replicas", f"spec.predictor.maxReplicas = {auto.max_replicas}")
    if opts.deployment_mode == "RawDeployment":
        return _raw(api, fields, rec), {"serving.kserve.io/autoscalerClass": opts.autoscaler_class or "hpa"}
    return _serverless(api, fields, rec)


def _serverless(api: RealtimeAPI, fields: dict, rec: Record) -> tuple[dict, dict]:
    auto, opts = api.autoscaling, api.kserve
    klass = KNATIVE_CLASSES[opts.autoscaler_class or "kpa"]
    metric = opts.scale_metric or ("cpu" if klass.startswith("hpa") else "concurrency")
    target = float(opts.scale_target) if opts.scale_target is not None else api.target_concurrency
    init = api.initial_replicas
    fields["containerConcurrency"] = auto.max_replica_concurrency
    fields["scaleMetric"] = metric
    if target.is_integer():
        fields["scaleTarget"] = int(target)
    annotations = {
        KNATIVE + "class": klass,
        KNATIVE + "metric": metric,
        KNATIVE + "target": _number(target),
        KNATIVE + "min-scale": str(auto.min_replicas),
        KNATIVE + "max-scale": str(auto.max_replicas),
        KNATIVE + "initial-scale": str(init),
        KNATIVE + "window": format_duration(auto.window),
        KNATIVE + "scale-down-delay": format_duration(auto.downscale_stabilization_period),
    }
    rec.map("autoscaling.init_replicas", f"{KNATIVE}initial-scale = {init}"
            + (" (needs allow-zero-initial-scale in Knative's config)" if init == 0 else ""))
    rec.map("autoscaling.max_replica_concurrency",
            f"spec.predictor.containerConcurrency = {auto.max_replica_concurrency} (hard limit; 503 beyond)")
    rec.map("autoscaling.target_replica_concurrency", f"{KNATIVE}target = {_number(target)} ({metric})")
    rec.map("autoscaling.window", f"{KNATIVE}window = {format_duration(auto.window)}")
    rec.map("autoscaling.downscale_stabilization_period",
            f"{KNATIVE}scale-down-delay = {format_duration(auto.downscale_stabilization_period)} (approximate: "
            "Knative waits this long before scaling down)")
    for name, why in (("upscale_stabilization_period", "Knative scales up at once (panic mode); no per-revision "
                       "delay exists"),
                      ("max_upscale_factor", "Knative's max-scale-up-rate is cluster-wide (config-autoscaler)"),
                      ("max_downscale_factor", "Knative's max-scale-down-rate is cluster-wide (config-autoscaler)"),
                      ("upscale_tolerance", "the KPA has no tolerance band"),
                      ("downscale_tolerance", "the KPA has no tolerance band")):
        rec.drop(f"autoscaling.{name}", why)
    rec.drop("update_strategy", "Knative rolls out revisions itself (all traffic moves when the new revision is "
             "ready; use kserve.canary_traffic_percent for gradual rollout)")
    return fields, annotations


def _raw(api: RealtimeAPI, fields: dict, rec: Record) -> dict:
    opts, auto = api.kserve, api.autoscaling
    if opts.autoscaler_class in (None, "hpa"):
        metric = opts.scale_metric or "cpu"
        fields["scaleMetric"] = metric
        fields["scaleTarget"] = opts.scale_target or 80
        rec.map("kserve.scale_metric/scale_target",
                f"HPA on {metric} at {fields['scaleTarget']}{'%' if metric in ('cpu', 'memory') else ''}")
        rec.drop("autoscaling.target_replica_concurrency", "RawDeployment scales with an HPA on cpu/memory; "
                 "concurrency needs Serverless mode or KEDA")
    update = api.update_strategy
    fields["deploymentStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": update.max_surge, "maxUnavailable": update.max_unavailable}}
    rec.map("update_strategy", f"spec.predictor.deploymentStrategy rollingUpdate (maxSurge {update.max_surge}, "
            f"maxUnavailable {update.max_unavailable})")
    rec.drop("autoscaling.max_replica_concurrency", "containerConcurrency is a Knative setting; the model server "
             f"still answers 503 beyond {auto.max_replica_concurrency} in-flight requests")
    for name in ("window", "downscale_stabilization_period", "upscale_stabilization_period", "max_upscale_factor",
                 "max_downscale_factor", "upscale_tolerance", "downscale_tolerance", "init_replicas"):
        rec.drop(f"autoscaling.{name}", "the HPA's behaviour is configured cluster-side in RawDeployment mode")
    return fields
