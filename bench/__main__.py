"""python -m bench [--quick] [--only iris,mlp] [--servers ...] [--duration S] [--json PATH]

Starts each server on loopback, drives it with wrk, and prints a markdown table plus the
PASS/FAIL target lines. See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .load import drive
from .models import BUILDERS, Workload
from .reference import cold_reference, convert_seconds
from .report import Row, table, targets
from .rss import PeakRSS
from .servers import REPO, SERVERS, Running, Unavailable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris + mlp, concurrency 8/64, 2 s runs")
    parser.add_argument("--only", help="comma-separated workloads: " + ",".join(BUILDERS))
    parser.add_argument("--servers", help="comma-separated substrings of server names (e.g. bridge,floor)")
    parser.add_argument("--duration", type=float, help="seconds per load run (default 5, quick 2)")
    parser.add_argument("--concurrency", help="comma-separated levels (default 1,8,64; quick 8,64)")
    parser.add_argument("--cold-repeats", type=int, help="iris cold starts per server (default 3, quick 1)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    args.workloads = args.only.split(",") if args.only else (["iris", "mlp"] if args.quick else list(BUILDERS))
    unknown = [w for w in args.workloads if w not in BUILDERS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(BUILDERS)}")
    args.duration = args.duration or (2.0 if args.quick else 5.0)
    levels = args.concurrency or ("8,64" if args.quick else "1,8,64")
    args.levels = [int(c) for c in levels.split(",")]
    args.cold_repeats = args.cold_repeats or (1 if args.quick else 3)
    wanted = args.servers.split(",") if args.servers else None
    args.server_names = [s for s in SERVERS if not wanted or any(w.lower() in s.lower() for w in wanted)]
    return args


def measure(name: str, w: Workload, work: Path, batching: bool, args: argparse.Namespace) -> list[Row]:
    """Start one server, measure cold start, drive every concurrency level, stop it."""
    try:
        launch = SERVERS[name](w, work, batching)
    except Unavailable as why:  # reported once, in the batching-off row
        return [] if batching else [Row(w.name, name, batching, note=f"unavailable: {why}")]
    log = work / "logs" / f"{w.name}-{name.split(':')[0]}-{batching}.log"
    log.parent.mkdir(exist_ok=True)
    try:
        server = Running(launch, log)
    except RuntimeError as why:
        return [Row(w.name, name, batching, note=f"failed to start: {str(why)[:200]}")]
    rows = []
    try:
        cold = server.cold_start_s
        with PeakRSS(server.proc.pid) as rss:
            drive(server.url, launch.body, max(args.levels), 1.0, launch.headers)  # warm-up
            for level in args.levels:
                result, cpu_us = server.measure(level, args.duration)
                rows.append(Row(w.name, name, batching, level, result.rps, result.p50_ms, result.p99_ms,
                                cpu_us_per_req=cpu_us, errors=result.errors,
                                note="" if result.tool == "wrk" else result.tool))
    except (RuntimeError, OSError) as why:
        rows.append(Row(w.name, name, batching, note=f"load failed: {str(why)[:200]}"))
    finally:
        server.stop()
    if w.name == "iris" and not batching and args.cold_repeats > 1:
        colds = [cold]
        for _ in range(args.cold_repeats - 1):
            again = Running(SERVERS[name](w, work, batching), log)
            colds.append(again.cold_start_s)
            again.stop()
        cold = statistics.median(colds)
    for row in rows:
        row.rss_mib, row.cold_start_s = rss.peak / 2**20, cold
        if rss.peak_process < rss.peak * 0.75:  # several big processes: say what each costs
            row.note = (row.note + " " if row.note else "") + f"largest process {rss.peak_process / 2**20:.0f} MiB"
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    rows: list[Row] = []
    cold_ref = convert_s = None
    with tempfile.TemporaryDirectory(prefix="kserve-bridge-bench-") as tmp:
        work = Path(tmp)
        for wname in args.workloads:
            workload = BUILDERS[wname](work / "models")
            for batching in (False, True):
                for name in args.server_names:
                    print(f"# {wname} batching={'on' if batching else 'off'}: {name}", file=sys.stderr, flush=True)
                    rows += measure(name, workload, work, batching, args)
            if wname == "iris":
                cold_ref = cold_reference(workload.model_path, args.cold_repeats)
        example = REPO / "examples" / "iris-sklearn"
        if example.exists():
            convert_s, why = convert_seconds(example, 3)
            if why:
                print(f"# convert not measured: {why}", file=sys.stderr)
    print(table(rows))
    print()
    if cold_ref is not None:
        print(f"cold-start reference (python + import sklearn + joblib.load + predict): {cold_ref:.2f} s")
    print("\n".join(targets(rows, cold_ref, convert_s)))
    print(f"\n(total bench time {time.perf_counter() - began:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": [r.as_dict() for r in rows], "cold_reference_s": cold_ref,
                                         "convert_s": convert_s}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
