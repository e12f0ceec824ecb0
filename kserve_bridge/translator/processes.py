"""`processes_per_replica` -> the pod's CPU request, and what --explain says about processes."""
from __future__ import annotations

from decimal import Decimal

from ..spec.models import RealtimeAPI
from ..spec.units import format_quantity, parse_quantity
from .record import Record


def cpu_request(api: RealtimeAPI, rec: Record) -> str | None:
    """The container's CPU request: compute.cpu, or N x the default when processes_per_replica is N and
    compute.cpu was not set (each process needs what one needs)."""
    compute, processes = api.compute, api.predictor.processes_per_replica
    cpu = compute.cpu
    if cpu and processes > 1 and "cpu" not in compute.model_fields_set:
        cpu = format_quantity(parse_quantity(cpu) * processes)
        rec.map("compute.cpu", f"resources.requests.cpu = {cpu} (processes_per_replica {processes} x the default "
                f"{compute.cpu})")
    elif cpu:
        shared = f" (shared by {processes} processes)" if processes > 1 else ""
        rec.map("compute.cpu", f"resources.requests.cpu = {cpu}{shared}")
    if processes > 1:
        rec.map("predictor.processes_per_replica", f"{processes} model server processes per replica on one port, "
                f"each loading the predictor (memory: {processes} copies of the model)")
    elif cpu and parse_quantity(cpu) > 1:
        suggest = max(2, int(parse_quantity(cpu) // Decimal(1)))
        rec.map("predictor.processes_per_replica", f"1 process: it runs Python (predict and HTTP) on about one "
                f"core, and compute.cpu {cpu} allows more; processes_per_replica: {suggest} would use the rest")
    return cpu
