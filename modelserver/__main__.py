"""`python -m modelserver --model_dir DIR [--model_name NAME] [--http_port 8080] ...`

Settings come from KSERVE_BRIDGE_SETTINGS when set (the translator's
contract), else from DIR's cortex.yaml (API NAME, or its only RealtimeAPI).
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

from kserve_bridge.contract import (
    DEPLOYMENT_ID_ENV,
    DRAIN_DELAY_ENV,
    GRPC_PORT,
    HTTP_PORT,
    MAX_PAYLOAD_BYTES,
    MODEL_DIR,
    MODEL_DIR_ENV,
    PORT_ENV,
    ServerSettings,
)
from kserve_bridge.errors import BridgeError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m modelserver", description=__doc__.split("\n\n")[1],
                                allow_abbrev=False)
    p.add_argument("--model_dir", default=os.environ.get(MODEL_DIR_ENV, MODEL_DIR),
                   help=f"the unpacked project: cortex.yaml, predictor, models (default {MODEL_DIR})")
    p.add_argument("--model_name", default=None,
                   help="API name; also the KServe model name in /v1/models/NAME (default: from the settings)")
    p.add_argument("--http_port", type=int, default=int(os.environ.get(PORT_ENV, str(HTTP_PORT))),
                   help=f"default ${PORT_ENV} or {HTTP_PORT}")
    p.add_argument("--grpc_port", type=int, default=None,
                   help=f"also serve the Open Inference Protocol over gRPC on this port (default: {GRPC_PORT} when "
                        f"the API's kserve.protocol is grpc-v2, else no gRPC)")
    p.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument("--max_payload_bytes", type=int, default=MAX_PAYLOAD_BYTES,
                   help=f"largest request body accepted; larger gets 413 (default {MAX_PAYLOAD_BYTES})")
    p.add_argument("--drain_delay_s", type=float, default=float(os.environ.get(DRAIN_DELAY_ENV, "0")),
                   help="after SIGTERM, seconds to keep accepting while /readyz fails, before closing the port "
                        f"and finishing the requests held (default ${DRAIN_DELAY_ENV} or 0)")
    p.add_argument("--log_requests", default=None, metavar="URL_OR_FILE",
                   help="payload logging: each request/response as a CloudEvent to an http(s) receiver, or as "
                        "JSON lines appended to a file (KServe's logger record format)")
    p.add_argument("--log_mode", choices=["all", "request", "response"], default="all")
    p.add_argument("--log_metadata_headers", default="", help="comma-separated request headers copied onto "
                                                              "each record")
    p.add_argument("--log_queue_size", type=int, default=1000, help="records waiting for the sink before "
                                                                   "new ones are dropped (default 1000)")
    return p.parse_args(argv)


def payload_log_config(args: argparse.Namespace, settings: ServerSettings, name: str) -> dict | None:
    """`PayloadLog`'s arguments for --log_requests (None without it). Picklable: each process of a
    replica runs its own logger; a file sink is appended to with one write per batch (O_APPEND), so
    processes never interleave within a record. A file that cannot be written fails here (OSError)."""
    if not args.log_requests:
        return None
    from kserve_bridge.contract import DEPLOYMENT_ID_LABEL

    from .payload_log import Source, check_sink
    check_sink(args.log_requests)
    host = "localhost" if args.host in ("0.0.0.0", "127.0.0.1", "::") else args.host
    src = Source(api=name, source=f"http://{host}:{args.http_port}/",
                 namespace=os.environ.get("POD_NAMESPACE", "default"),
                 annotations={DEPLOYMENT_ID_LABEL: settings.deployment_id} if settings.deployment_id else {})
    headers = [h.strip() for h in args.log_metadata_headers.split(",") if h.strip()]
    return {"sink": args.log_requests, "src": src, "mode": args.log_mode, "metadata_headers": headers,
            "queue_size": args.log_queue_size}


def resolve_settings(model_dir: Path, model_name: str | None) -> ServerSettings:
    settings = ServerSettings.from_env()
    if settings is not None:
        return settings
    from kserve_bridge.spec import load_spec
    from kserve_bridge.spec.models import RealtimeAPI

    spec = load_spec(model_dir)
    if model_name is None:
        if len(spec.realtime) != 1:
            raise BridgeError(f"{model_dir} has {len(spec.realtime)} RealtimeAPIs; pick one with --model_name "
                              f"({', '.join(a.name for a in spec.realtime)})")
        api = spec.realtime[0]
    else:
        try:
            named = spec.get(model_name)
        except KeyError as exc:
            raise BridgeError(exc.args[0]) from exc
        if not isinstance(named, RealtimeAPI):
            raise BridgeError(f"{model_name} is a {named.kind}; only a RealtimeAPI can be served")
        api = named
    return ServerSettings.from_api(api, os.environ.get(DEPLOYMENT_ID_ENV), model_dir)


def main(argv: list[str] | None = None) -> int:
    # Startup allocates ~200k objects that live as long as the process (modules, the model) and
    # almost no garbage: collecting during imports is wasted cold-start time (~0.2 s,
    # docs/benchmarks.md). `serve` freezes what startup made and turns the collector back on.
    gc.disable()
    args = parse_args(argv)
    model_dir = Path(args.model_dir).resolve()
    try:
        settings = resolve_settings(model_dir, args.model_name)
    except BridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        gc.enable()
        return 2
    name = args.model_name or settings.api_name
    from .termination import report_failure
    from .versions import check_versions
    wrong_versions = check_versions()  # before kserve or uvicorn is imported
    if wrong_versions:
        gc.enable()
        return report_failure(wrong_versions)
    from .bundle import bundle_problem
    problem = bundle_problem(model_dir)  # before anything from the model dir is imported
    if problem:
        gc.enable()
        return report_failure(f"API {name}: {problem}")
    try:
        log_config = payload_log_config(args, settings, name)
    except OSError as exc:
        print(f"error: cannot write payload records to {args.log_requests}: {exc.strerror or exc}", file=sys.stderr)
        gc.enable()
        return 2
    grpc_port = args.grpc_port if args.grpc_port is not None else (
        GRPC_PORT if settings.protocol == "grpc-v2" else None)
    if settings.processes_per_replica > 1:
        gc.enable()
        from .supervisor import supervise
        return supervise(settings, model_dir, name=name, host=args.host, port=args.http_port,
                         max_payload_bytes=args.max_payload_bytes, payload_log=log_config,
                         drain_delay_s=args.drain_delay_s, grpc_port=grpc_port)
    from .deferred import defer_unused
    defer_unused()  # before kserve is imported: its Kubernetes client only on first use
    from .server import serve
    return serve(settings, model_dir, name=name, host=args.host, port=args.http_port,
                 max_payload_bytes=args.max_payload_bytes, payload_log=log_config,
                 drain_delay_s=args.drain_delay_s, grpc_port=grpc_port) or 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
