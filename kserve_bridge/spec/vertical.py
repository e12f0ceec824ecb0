"""Rules for `kserve.vertical_scaling`: where a VerticalPodAutoscaler can act, and beside which autoscaler.

What the VPA can target: its targetRef names a controller (a Deployment here). KServe's RawDeployment
mode makes one Deployment named `<api>-predictor`, stable across rollouts, so a VPA can follow it.
Serverless mode makes one Deployment per Knative revision (`<api>-predictor-00001-deployment`, ...),
named only once the revision exists, and Knative Serving has no VPA integration (knative/serving#8366
is open; the experiment of #1124/#2929 was removed), so no VPA can follow the API there.

Beside a horizontal autoscaler: an HPA on cpu (or memory) scales on utilisation, a percentage of the
request; a VPA that rewrites that request (modes initial and auto) moves the HPA's target under it,
and the two chase each other. The Kubernetes autoscaler project advises against a VPA and an HPA on
the same resource. A VPA that only recommends, or controls only the other resource, is safe.
"""
from __future__ import annotations

from collections.abc import Callable

from .models import RealtimeAPI
from .units import parse_quantity

VS = ("kserve", "vertical_scaling")


def hpa_metric(api: RealtimeAPI) -> str | None:
    """The resource the API's HPA scales on in RawDeployment mode, if it scales on one."""
    opts = api.kserve
    if opts.autoscaler_class not in (None, "hpa"):
        return None
    metric = opts.scale_metric or "cpu"
    return metric if metric in ("cpu", "memory") else None


def check_vertical(api: RealtimeAPI, report: Callable[..., None]) -> None:
    vertical = api.kserve.vertical_scaling
    if vertical is None:
        return
    low, high = vertical.min, vertical.max
    for key in ("cpu", "mem"):
        lo, hi = getattr(low, key, None), getattr(high, key, None)
        if lo is not None and hi is not None and parse_quantity(lo) > parse_quantity(hi):
            report(VS + ("min", key), f"must be <= max.{key} ({hi})", lo)
    if vertical.mode == "off":
        return
    if not vertical.controlled_resources:
        report(VS + ("controlled_resources",), "must list cpu and/or memory (or set mode: off)", [])
    if api.kserve.deployment_mode != "RawDeployment":
        report(VS + ("mode",), "needs kserve.deployment_mode RawDeployment: in Serverless mode Knative makes one "
               "Deployment per revision, named only once the revision exists, and has no VPA support, so a "
               "VerticalPodAutoscaler cannot follow the API; use RawDeployment (Deployment <name>-predictor), "
               "or size compute.cpu/mem from a recommend-mode VPA on a RawDeployment copy", vertical.mode)
        return
    metric = hpa_metric(api)
    if vertical.mode in ("initial", "auto") and metric in vertical.controlled_resources:
        other = "memory" if metric == "cpu" else "cpu"
        report(VS + ("mode",), f"unsafe beside the HPA, which scales on {metric} utilisation (a share of the "
               f"request this VPA would change, so the two chase each other); use mode: recommend, "
               f"controlled_resources: [{other}], or kserve.autoscaler_class keda/external", vertical.mode)
