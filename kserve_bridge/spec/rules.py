"""Cross-field rules, each reporting through `report(loc, message, value)`.

A rule never stops at the first violation: every one is reported.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract import PREDICTOR_KINDS, is_remote, remote_schemes_text, uri_scheme
from ..registry import is_registry_uri, syntax_problem
from . import kube_names
from .models import KServeOptions, RealtimeAPI, TrafficSplitter
from .units import parse_quantity
from .vertical import check_vertical

Report = Callable[..., None]
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENDPOINT = re.compile(r"^[a-zA-Z0-9_\-./]*$")
RESERVED_ENV_PREFIXES = ("CORTEX_", "KSERVE_BRIDGE_")


def check_name(name: Any, report: Report) -> None:
    if not isinstance(name, str):
        report(("name",), "must be a string (a DNS-1035 label)", name)
    elif not name:
        report(("name",), "a name is required", name)
    elif len(name) > 63:
        report(("name",), "must be at most 63 characters (a Kubernetes DNS-1035 label)", name)
    elif not DNS_1035.fullmatch(name):
        report(("name",), "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter",
               name)


def check_endpoint(endpoint: str | None, report: Report) -> None:
    if endpoint is None:
        return
    if not ENDPOINT.fullmatch(endpoint) or "//" in endpoint or endpoint.strip("/") == "":
        report(("networking", "endpoint"), "must be a URL path of letters, digits, '_', '-', '.' and '/', "
               "not '/' alone and without '//'", endpoint)


def check_kubernetes_values(opts: KServeOptions, report: Report, image: str | None = None) -> None:
    """Names, labels and annotations by Kubernetes' own rules (kube_names), so kubectl never refuses them."""
    for field, value, rule in (("runtime", opts.runtime, kube_names.dns_1123_subdomain),
                               ("service_account", opts.service_account, kube_names.dns_1123_subdomain),
                               ("storage_uri", opts.storage_uri, kube_names.no_whitespace)):
        why = rule(value) if value is not None else None
        if why:
            report(("kserve", field), why, value)
    for part, check_value in (("labels", kube_names.label_value), ("annotations", None)):
        for key, value in getattr(opts, part).items():
            why = kube_names.qualified_name(key)
            if why:
                report(("kserve", part, key), f"is not a valid {part[:-1]} key: {why}", key)
            why = check_value(value) if check_value else None
            if why:
                report(("kserve", part, key), why, value)
    why = kube_names.annotations_size(opts.annotations)
    if why:
        report(("kserve", "annotations"), why)
    if image is not None:
        why = kube_names.no_whitespace(image) if image else "must not be empty"
        if why:
            report(("predictor", "image"), why, image)


def check_project_path(project: Path | None, rel: str, loc: tuple, report: Report, kind: str = "file") -> None:
    """A path must stay inside the project directory and exist there."""
    if project is None:
        return
    if rel.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", rel):
        report(loc, "must be relative to the project directory", rel)
        return
    try:
        root = project.resolve()
        target = (root / rel).resolve()
        is_file, is_dir = target.is_file(), target.is_dir()
    except (OSError, ValueError, RuntimeError) as exc:  # name too long, NUL byte, symlink loop
        report(loc, f"is not a usable path: {getattr(exc, 'strerror', None) or exc}", rel)
        return
    if target != root and root not in target.parents:
        report(loc, "escapes the project directory", rel)
    elif kind == "file" and not is_file:
        report(loc, f"file not found in project directory {root}", rel)
    elif kind == "dir" and not is_dir:
        report(loc, f"folder not found in project directory {root}", rel)


def check_realtime(api: RealtimeAPI, project: Path | None, report: Report,
                   broken: frozenset[str] = frozenset()) -> None:
    """Every cross-field rule whose sections validated (`broken` names those that did not)."""
    def ok(*sections: str) -> bool:
        return not broken.intersection(sections)

    if ok("name"):
        check_name(api.name, report)
    if ok("networking"):
        check_endpoint(api.networking.endpoint, report)
    if ok("predictor"):
        _check_predictor(api, project, report)
    if ok("compute"):
        _check_compute(api, report)
    shm, mem = (api.predictor.shm_size, api.compute.mem) if ok("predictor", "compute") else (None, None)
    if shm is not None and mem is not None and parse_quantity(shm) > parse_quantity(mem):
        report(("predictor", "shm_size"), f"must be <= compute.mem ({mem})", shm)
    if ok("autoscaling"):
        _check_autoscaling(api, report)
    if ok("update_strategy"):
        surge, unavailable = api.update_strategy.max_surge, api.update_strategy.max_unavailable
        if str(surge).rstrip("%") == "0" and str(unavailable).rstrip("%") == "0":
            report(("update_strategy",), "max_surge and max_unavailable cannot both be 0",
                   {"max_surge": surge, "max_unavailable": unavailable})
    if ok("kserve", "autoscaling"):
        _check_kserve(api, report)
        check_drift(api, project, report)
        check_vertical(api, report)
    if ok("kserve", "predictor"):
        check_kubernetes_values(api.kserve, report, api.predictor.image)


def check_drift(api: RealtimeAPI, project: Path | None, report: Report) -> None:
    """kserve.monitoring.drift: the reference file exists in the project and has every feature's column."""
    drift = api.kserve.monitoring.drift if api.kserve.monitoring else None
    if drift is None:
        return
    loc = ("kserve", "monitoring", "drift")
    seen: set[str] = set()
    for i, name in enumerate(drift.features):
        if name in seen:
            report((*loc, "features", i), "is listed twice", name)
        seen.add(name)
    problems: list = []
    check_project_path(project, drift.reference, (*loc, "reference"), lambda *p: problems.append(p))
    for problem in problems:
        report(*problem)
    if project is None or problems:
        return
    from ..drift import DriftReferenceError, drift_features  # reads the file: only when there is one
    try:
        drift_features(drift, project)
    except DriftReferenceError as exc:
        report((*loc, "reference"), str(exc), drift.reference)


def _check_predictor(api: RealtimeAPI, project: Path | None, report: Report) -> None:
    pred = api.predictor
    check_project_path(project, pred.path, ("predictor", "path"), report)
    for field in ("pip", "conda", "shell"):  # optional files, but never outside the project
        check_project_path(project, getattr(pred.dependencies, field), ("predictor", "dependencies", field), report,
                           kind="none")
    if not pred.path.endswith((".py", ".pickle")):
        report(("predictor", "path"), "must name a .py file (or a .pickle of a predictor class)", pred.path)
    if pred.python_path is not None:
        if pred.python_path.strip() in ("", ".", "./"):
            report(("predictor", "python_path"), "must be a sub-folder of the project (the project root is "
                   "already on the path)", pred.python_path)
        else:
            check_project_path(project, pred.python_path, ("predictor", "python_path"), report, kind="dir")
    for key in pred.env:
        if key.startswith(RESERVED_ENV_PREFIXES) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            report(("predictor", "env", key), "must be a valid variable name not starting with "
                   + " or ".join(RESERVED_ENV_PREFIXES), key)
    _check_models(api, project, report)
    _check_batching(api, report)


def _check_autoscaling(api: RealtimeAPI, report: Report) -> None:
    auto = api.autoscaling
    init = api.initial_replicas
    if auto.min_replicas > auto.max_replicas:
        report(("autoscaling", "min_replicas"), f"must be <= max_replicas ({auto.max_replicas})", auto.min_replicas)
    if auto.init_replicas is not None and not auto.min_replicas <= init <= auto.max_replicas:
        report(("autoscaling", "init_replicas"),
               f"must lie between min_replicas ({auto.min_replicas}) and max_replicas ({auto.max_replicas})", init)
    target = auto.target_replica_concurrency
    if target is not None and target > auto.max_replica_concurrency:
        report(("autoscaling", "target_replica_concurrency"),
               f"must be <= max_replica_concurrency ({auto.max_replica_concurrency})", target)
    if auto.window < 10 or auto.window > 3600 or round(auto.window * 1000) % 10000:
        report(("autoscaling", "window"), "must be a multiple of 10s between 10s and 1h", _dur(auto.window))
    for field in ("downscale_stabilization_period", "upscale_stabilization_period"):
        if getattr(auto, field) > 3600:
            report(("autoscaling", field), "must be at most 1h (Knative's scale-down-delay limit)",
                   _dur(getattr(auto, field)))


def _dur(seconds: float) -> str:
    from .units import format_duration
    return format_duration(seconds)


def _check_models(api: RealtimeAPI, project: Path | None, report: Report) -> None:
    pred, models = api.predictor, api.predictor.models
    if models is None:  # a tensorflow/onnx class may load its own model (spec/predictor_check.py)
        return
    chosen = [k for k in ("path", "paths", "dir") if getattr(models, k) is not None]
    if len(chosen) != 1:
        report(("predictor", "models"), "set exactly one of path, paths or dir" +
               (f" (conflicting: {', '.join(chosen)})" if chosen else ""))
    keyed: list[tuple] = [("predictor", "models", "signature_key")] if models.signature_key else []
    keyed += [("predictor", "models", "paths", i, "signature_key")
              for i, m in enumerate(models.paths or []) if m.signature_key]
    if not PREDICTOR_KINDS[pred.type].signature_key:
        takes = [t for t, kind in PREDICTOR_KINDS.items() if kind.signature_key]
        for loc in keyed:
            report(loc, f"signature_key applies to {' and '.join(takes)} predictors only, not {pred.type}")
    names = [m.name for m in models.paths or []]
    for i, name in enumerate(names):
        if name in names[:i]:
            report(("predictor", "models", "paths", i, "name"), "duplicate model name", name)
        if name == "_cortex_default":
            report(("predictor", "models", "paths", i, "name"), "is reserved", name)
    locations: list[tuple[tuple, str | None, str]]
    locations = [(("predictor", "models", "path"), models.path, "any"), (("predictor", "models", "dir"),
                 models.dir, "dir")] + [(("predictor", "models", "paths", i, "path"), m.path, "any")
                                        for i, m in enumerate(models.paths or [])]
    for loc, location, kind in locations:
        if location is not None and is_registry_uri(location):
            why = "a folder of models cannot come from a registry; list them under paths" if kind == "dir" \
                else syntax_problem(location)
            if why:
                report(loc, why, location)
        elif location is not None and uri_scheme(location) is not None and not is_remote(location):
            report(loc, f"the model server cannot fetch {uri_scheme(location)}:// locations; supported: "
                   f"{remote_schemes_text()}, or a path inside the project", location)
        elif location is not None and not is_remote(location):
            check_project_path(project, location, loc, report, kind="none")
    cache, disk = models.cache_size, models.disk_cache_size
    if (cache is None) != (disk is None):
        report(("predictor", "models", "cache_size"), "set both cache_size and disk_cache_size, or neither")
    elif cache is not None and disk is not None:
        if cache > disk:
            report(("predictor", "models", "cache_size"), f"must be <= disk_cache_size ({disk})", cache)
        if models.path is not None:
            report(("predictor", "models", "cache_size"), "caching needs several models (paths or dir)")
        if pred.processes_per_replica != 1:
            report(("predictor", "processes_per_replica"), "must be 1 when model caching is enabled",
                   pred.processes_per_replica)


def _check_batching(api: RealtimeAPI, report: Report) -> None:
    batching = api.predictor.server_side_batching
    if batching is not None and batching.batch_interval <= 0:
        report(("predictor", "server_side_batching", "batch_interval"), "must be greater than 0", "0s")


def _check_compute(api: RealtimeAPI, report: Report) -> None:
    compute = api.compute
    if compute.cpu is not None and parse_quantity(compute.cpu) < parse_quantity("20m"):
        report(("compute", "cpu"), "must be at least 20m", compute.cpu)
    if compute.mem is not None and parse_quantity(compute.mem) < parse_quantity("20Mi"):
        report(("compute", "mem"), "must be at least 20Mi", compute.mem)
    if compute.gpu and compute.inf:
        report(("compute", "inf"), "cannot request both gpu and inf", compute.inf)
    if compute.inf > 1:
        report(("compute", "inf"), "at most 1 Inferentia chip per replica", compute.inf)
    if compute.inf and not api.predictor.image:
        report(("compute", "inf"), "no kserve-bridge runtime runs on AWS Inferentia (no Neuron image); use "
               "compute.gpu, or predictor.image with a Neuron build of the model server", compute.inf)


def _check_kserve(api: RealtimeAPI, report: Report) -> None:
    opts, auto = api.kserve, api.autoscaling
    raw = opts.deployment_mode == "RawDeployment"
    if raw and auto.min_replicas == 0 and opts.autoscaler_class != "keda":
        report(("autoscaling", "min_replicas"), "scale to zero needs deployment_mode Serverless (or "
               "autoscaler_class keda)", 0)
    if raw and opts.canary_traffic_percent is not None:
        report(("kserve", "canary_traffic_percent"), "is Serverless only; in RawDeployment mode the share is "
               "given at deploy time: `kserve-bridge deploy --canary PERCENT` or `kserve-bridge canary start`",
               opts.canary_traffic_percent)
    if opts.autoscaler_class in ("keda", "external") and not raw:
        report(("kserve", "autoscaler_class"), "keda and external apply to RawDeployment mode only",
               opts.autoscaler_class)
    if opts.autoscaler_class == "kpa" and raw:
        report(("kserve", "autoscaler_class"), "kpa (Knative) applies to Serverless mode only", "kpa")
    metric = opts.scale_metric
    if metric in ("cpu", "memory") and not raw and opts.autoscaler_class != "hpa":
        report(("kserve", "scale_metric"), "cpu/memory scaling in Serverless mode needs autoscaler_class hpa",
               metric)
    if metric in ("concurrency", "rps") and opts.autoscaler_class == "hpa":
        report(("kserve", "scale_metric"), "the hpa autoscaler scales on cpu or memory", metric)
    if opts.protocol == "grpc-v2" and not raw:
        report(("kserve", "protocol"), "grpc-v2 needs deployment_mode RawDeployment: Knative routes one port per "
               "revision, and gRPC (8081, h2c) comes beside the HTTP port 8080 that the probes and /metrics use",
               "grpc-v2")
    if opts.logger is not None:
        check_logger(opts.logger, report)
    if opts.tracing is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", opts.tracing.endpoint):
        report(("kserve", "tracing", "endpoint"), "must be an http(s):// OTLP collector URL", opts.tracing.endpoint)
    if opts.scratch_size is not None and not opts.restricted_security:
        report(("kserve", "scratch_size"), "limits the /tmp volume of restricted pods; with "
               "restricted_security false the root filesystem is writable and there is no such volume",
               opts.scratch_size)


LOG_SINK = re.compile(r"^(https?|s3|gs|abfs)://[^/\s]+(/\S*)?$")


def check_logger(logger: Any, report: Report) -> None:
    """KServe picks the logger's sink by the url's scheme; storage and batching apply to buckets only."""
    loc = ("kserve", "logger")
    if not LOG_SINK.match(logger.url):
        report((*loc, "url"), "must be an http(s):// CloudEvents receiver or an s3://, gs:// or abfs:// bucket "
               "path", logger.url)
        return
    bucket = not logger.url.startswith("http")
    for field in ("storage", "batch_size", "batch_interval", "marshaller_url"):
        value = getattr(logger, field)
        if not bucket and value is not None:
            report((*loc, field), "applies to a bucket url (s3://, gs://, abfs://); KServe sends each record "
                   "to an http(s) url as it comes", *([] if field == "storage" else [value]))
    if logger.batch_interval is not None and (logger.batch_size or 1) <= 1:
        report((*loc, "batch_interval"), "needs batch_size > 1 (KServe flushes a partial batch after it)",
               logger.batch_interval)


def check_splitter(split: TrafficSplitter, realtime: set[str], report: Report,
                   broken: frozenset[str] = frozenset()) -> None:
    if "name" not in broken:
        check_name(split.name, report)
    if "networking" not in broken:
        check_endpoint(split.networking.endpoint, report)
    if "kserve" not in broken:
        check_kubernetes_values(split.kserve, report)
    if "kserve" not in broken and split.kserve.logger is not None:
        report(("kserve", "logger"), "payload logging is set per RealtimeAPI (KServe logs at each "
               "InferenceService); move it to the APIs behind this splitter")
    if broken.intersection(("apis", "kserve")):
        return
    seen: set[str] = set()
    for i, target in enumerate(split.apis):
        if target.name in seen:
            report(("apis", i, "name"), "listed twice", target.name)
        seen.add(target.name)
        if target.name not in realtime:
            report(("apis", i, "name"), "names no RealtimeAPI in this spec"
                   + (f"; RealtimeAPIs: {', '.join(sorted(realtime))}" if realtime else ""), target.name)
    total = sum(t.weight for t in split.apis if not t.shadow)
    if total != 100:
        report(("apis",), "weights of the non-shadow APIs must sum to 100", total)
    shadows = [i for i, t in enumerate(split.apis) if t.shadow]
    for i in shadows[1:]:
        report(("apis", i, "shadow"), "at most one API can be the shadow", True)
    if shadows and not split.kserve.istio:
        report(("apis", shadows[0], "shadow"), "shadow traffic is an Istio mirror; it needs kserve.istio: true",
               True)
    if len(shadows) == len(split.apis):
        report(("apis",), "needs at least one non-shadow API")
