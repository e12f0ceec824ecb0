"""What payload logging costs a prediction: `python -m bench.payload_log [--duration S] [--rounds N]`.

Serves examples/payload-logging three ways, in the same run, and drives each with the bench's
load generator (wrk when installed) at concurrency 1 and 8: no logging, `--log-requests FILE`,
and `--log-requests URL` to a receiver that never answers (the queue fills, then every record is
dropped). Prints p50/p99 and throughput, and each one's ratio to no logging. Rounds alternate the
three servers to spread the noise of a shared machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .load import drive

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import monitoring_stack as stack  # noqa: E402


def stalled_receiver() -> tuple[ThreadingHTTPServer, threading.Event]:
    hold = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            hold.wait()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hold


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.payload_log", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per load run (default 5)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    receiver, hold = stalled_receiver()
    body = json.dumps(stack.ROWS[0]).encode()
    rows: dict[tuple[str, int], list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = stack.watched_project(root / "project")
        modes = {"no logging": (), "file": ("--log-requests", str(root / "records.jsonl")),
                 "stalled http sink": ("--log-requests", f"http://127.0.0.1:{receiver.server_address[1]}/")}
        for round_ in range(args.rounds):
            for name, extra in modes.items():
                port = stack.free_port()
                server = stack.serve(project, port, root / f"{round_}-{len(rows)}.log", *extra)
                try:
                    url = f"http://127.0.0.1:{port}/audited-iris"
                    drive(url, body, 8, 1.0)  # warm up
                    for concurrency in (1, 8):
                        rows.setdefault((name, concurrency), []).append(drive(url, body, concurrency,
                                                                              args.duration))
                finally:
                    stack.stop(server)
    hold.set()
    receiver.shutdown()
    print("| logging | concurrency | req/s | p50 ms | p99 ms | req/s vs none | p50 vs none |")
    print("|---|---|---|---|---|---|---|")
    for (name, concurrency), results in rows.items():
        rps = sum(r.rps for r in results) / len(results)
        p50 = sum(r.p50_ms for r in results) / len(results)
        p99 = sum(r.p99_ms for r in results) / len(results)
        base = rows[("no logging", concurrency)]
        base_rps, base_p50 = (sum(r.rps for r in base) / len(base), sum(r.p50_ms for r in base) / len(base))
        print(f"| {name} | {concurrency} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / base_rps:.2f}x | "
              f"{p50 / base_p50:.2f}x |")


if __name__ == "__main__":
    main()
