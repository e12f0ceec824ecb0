"""What tracing costs a prediction: `python -m bench.tracing [--duration S] [--rounds N]`.

The bench's iris workload (v1, one row, no batching) served as in the pod, driven at concurrency 8,
five ways in one run: no tracing; tracing configured with sampling ratio 0, 0.01 and 1.0 (a local
OTLP/HTTP receiver answering 200); and ratio 1.0 with the collector down (connection refused).
Prints the server's CPU time per request (process tree), p99, and each one against its baseline;
rounds alternate the servers to spread the noise of a shared machine. Targets (docs/monitoring.md):
ratio 0 <= +1% CPU, ratio 0.01 <= +2%, ratio 1.0 <= +50 us per request, a dead collector moves p99 < 5%.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .models import build_iris
from .servers import REPO, Launch, Running, free_port, ours


def receiver() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def traced(launch: Launch, endpoint: str | None, ratio: float) -> Launch:
    env = {**launch.env, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(REPO)}  # where opentelemetry-proto is
    if endpoint:
        env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                    "OTEL_TRACES_SAMPLER_ARG": str(ratio)})
    return Launch(launch.argv, launch.port, launch.path, launch.body, env)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.tracing", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per load run (default 5)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    collector = receiver()
    live, dead = f"http://127.0.0.1:{collector.server_address[1]}", f"http://127.0.0.1:{free_port()}"
    modes = {"no tracing": (None, 0.0), "ratio 0": (live, 0.0), "ratio 0.01": (live, 0.01),
             "ratio 1.0": (live, 1.0), "ratio 1.0, collector down": (dead, 1.0)}
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    p99: dict[str, list[float]] = {name: [] for name in modes}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        workload = build_iris(root)
        for round_ in range(args.rounds):
            for name, (endpoint, ratio) in modes.items():
                launch = traced(ours(workload, root, batching=False), endpoint, ratio)
                log = root / f"{round_}-{len(cpu[name])}-{ratio}.log"
                result, cpu_us = Running.warmed_measure(launch, log, 8, args.duration)
                cpu[name].append(cpu_us)
                p99[name].append(result.p99_ms)
    collector.shutdown()
    med = {name: statistics.median(values) for name, values in cpu.items()}
    tail = {name: statistics.median(values) for name, values in p99.items()}
    base = med["no tracing"]
    print("| tracing | CPU us/request (median) | per round | p99 ms | CPU vs none |")
    print("|---|---|---|---|---|")
    for name in modes:
        print(f"| {name} | {med[name]:.1f} | {', '.join(f'{v:.0f}' for v in cpu[name])} | {tail[name]:.2f} | "
              f"{med[name] / base:.3f}x ({med[name] - base:+.1f} us) |")
    checks = [("ratio 0 <= +1% CPU", med["ratio 0"] <= 1.01 * base),
              ("ratio 0.01 <= +2% CPU", med["ratio 0.01"] <= 1.02 * base),
              ("ratio 1.0 <= +50 us CPU", med["ratio 1.0"] - base <= 50),
              ("collector down: p99 within 5% of a live one", tail["ratio 1.0, collector down"]
               <= 1.05 * tail["ratio 1.0"])]
    for what, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {what}")


if __name__ == "__main__":
    main()
