"""`kserve-bridge serve PROJECT_DIR`: run the model server locally, as it runs in the pod."""
from __future__ import annotations

import argparse
import os
import sys

from ..interface import GRPC_PORT, HTTP_PORT, MAX_PAYLOAD_BYTES, server_args  # light: register runs on --help


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve an API of a project locally (the same server as in the pod)",
                       description="Validate the project's spec, then run the model server on it in this "
                                   "process (as `python -m modelserver`). "
                                   "Needs the server extra: pip install 'kserve-bridge[server]'.")
    p.add_argument("project_dir", help="folder holding cortex.yaml and the predictor")
    p.add_argument("--api", help="API to serve (default: the spec's only RealtimeAPI)")
    p.add_argument("--port", type=int, default=HTTP_PORT, help=f"HTTP port (default {HTTP_PORT})")
    p.add_argument("--grpc-port", type=int, default=None,
                   help=f"also serve the Open Inference Protocol over gRPC on this port (default: {GRPC_PORT} when "
                        f"kserve.protocol is grpc-v2, else no gRPC)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--max-payload-bytes", type=int, default=None,
                   help=f"largest request body (default {MAX_PAYLOAD_BYTES // 2**20} MiB)")
    p.add_argument("--log-requests", metavar="URL_OR_FILE", default=None,
                   help="log every request and response as KServe's logger does: CloudEvents POSTed to an "
                        "http(s) URL, or JSON lines appended to a file (mode and metadata_headers from "
                        "kserve.logger)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    from ..contract import ServerSettings
    from ..errors import BridgeError, Problem, SpecError
    from ..spec import load_spec
    from ..spec.models import RealtimeAPI

    spec = load_spec(args.project_dir)
    names = [a.name for a in spec.realtime]
    if args.api is None and len(names) != 1:
        raise SpecError([Problem("", f"the spec has {len(names)} RealtimeAPIs ({', '.join(names) or 'none'}); "
                                     f"pick one with --api", str(spec.source))])
    api = args.api or names[0]
    chosen = spec.by_name.get(api)
    if not isinstance(chosen, RealtimeAPI):
        raise SpecError([Problem("", f"no RealtimeAPI named {api!r}; the spec has: {', '.join(names) or 'none'}",
                                 str(spec.source))])
    if find_spec("kserve") is None:
        raise BridgeError("serving needs the KServe SDK: pip install 'kserve-bridge[server]' (plus the extra of "
                          "your framework, e.g. kserve-bridge[sklearn])")
    _say_runtime(chosen, spec.project_dir)
    command = [*server_args(api, str(spec.project_dir), args.port), "--host", args.host]
    if args.max_payload_bytes:
        command += ["--max_payload_bytes", str(args.max_payload_bytes)]
    if args.grpc_port is not None:
        command += ["--grpc_port", str(args.grpc_port)]
    # The settings of the spec given here (replacing any in the environment): the server reads them as in
    # the pod instead of parsing cortex.yaml a second time (cold start, docs/benchmarks.md).
    env = {**os.environ, **ServerSettings.from_api(chosen, project_dir=spec.project_dir).to_env()}  # drift's bins too
    alerts = chosen.kserve.alerts
    if alerts is not None:
        from ..contract import ALERTS_ENV
        from ..translator.monitoring import alert_thresholds
        env[ALERTS_ENV] = alert_thresholds(alerts)
    if chosen.kserve.tracing is not None:  # the environment's own OTEL_* variables win
        from ..translator.monitoring import tracing_env
        env = {**tracing_env(chosen, None), **env}
    if args.log_requests:
        command += _log_arguments(spec, chosen, args.log_requests, env)
    return run_server(command, env)


def run_server(server_argv: list[str], env: dict[str, str]) -> int:
    """`python -m modelserver SERVER_ARGV` with environment `env`, in this process: as a new
    interpreter would run it (the module as `__main__`, so a replica's spawned workers start from it,
    as in the pod), without a second interpreter start and second import of what parsing the spec
    loaded (cold start, docs/benchmarks.md). Does not return: the server's exit status ends the process."""
    import runpy

    os.environ.update(env)  # env holds os.environ and what the server is to read
    sys.argv[:] = [sys.argv[0], *server_argv]  # runpy sets argv[0] to the module's file, as `python -m` does
    sys.stdout.flush()
    runpy.run_module("modelserver", run_name="__main__", alter_sys=True)
    return 0  # pragma: no cover - modelserver's __main__ ends with sys.exit


def _say_runtime(api, project) -> None:
    """Local parity: the runtime this API gets on the cluster, and imports this environment lacks."""
    from importlib.util import find_spec

    from ..translator.runtime import choose_runtime

    choice = choose_runtime(api, project)
    where = api.kserve.runtime or (f"image {api.predictor.image}" if api.predictor.image else choice.runtime.name)
    print(f"on the cluster {api.name} runs on {where}"
          + ("" if api.kserve.runtime or api.predictor.image else f" ({choice.because})"), file=sys.stderr)
    for imp in choice.imports:
        if find_spec(imp.module) is None:
            print(f"warning: {imp.file}:{imp.line} imports {imp.module}, which this Python environment lacks; "
                  f"the predictor will fail to load here (the {choice.runtime.name} image "
                  f"{'has' if imp.module in choice.runtime.modules() else 'lacks'} it)", file=sys.stderr)


def _log_arguments(spec, api, sink: str, env: dict) -> list[str]:
    """Model server arguments for --log-requests; records carry the id `convert` would deploy."""
    from ..contract import DEPLOYMENT_ID_ENV
    from ..package import deployment_id, project_digest
    from ..spec import resolve_api

    if not sink.startswith(("http://", "https://")):
        sink = os.path.abspath(sink)
    env[DEPLOYMENT_ID_ENV] = deployment_id(resolve_api(api), project_digest(spec.project_dir))
    logger = api.kserve.logger
    out = ["--log_requests", sink]
    if logger is not None:
        out += ["--log_mode", logger.mode, "--log_metadata_headers", ",".join(logger.metadata_headers)]
    return out
