"""Translation speed: 1,000 APIs in-process (< 1 s) and one `kserve-bridge convert` process (<= 0.3 s wall).

Run: python bench/convert_bench.py   (prints a table and PASS/FAIL lines; not a timed test)
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kserve_bridge.manifest import render  # noqa: E402
from kserve_bridge.spec import load_spec  # noqa: E402
from kserve_bridge.translator import translate  # noqa: E402

N_APIS = 1000
EXAMPLE = REPO / "examples" / "iris-sklearn"


def many_apis(n: int) -> list[dict]:
    """n RealtimeAPIs varying the fields that change the translation path."""
    return [{"name": f"api-{i}", "kind": "RealtimeAPI",
             "predictor": {"type": "python", "path": "predictor.py", "config": {"i": i}},
             "compute": {"cpu": "500m", "mem": "1Gi", "gpu": i % 2},
             "autoscaling": {"min_replicas": 1 + i % 3, "max_replicas": 10},
             "kserve": {"deployment_mode": "RawDeployment" if i % 4 == 0 else "Serverless"}}
            for i in range(n)]


def best_of(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    data = many_apis(N_APIS)
    spec = load_spec(data)
    rows = [("load_spec (1,000 APIs)", best_of(lambda: load_spec(data))),
            ("translate (1,000 APIs)", best_of(lambda: translate(spec, storage_uri="s3://b/p"))),
            ("translate + render (1,000 APIs)",
             best_of(lambda: render(translate(spec, storage_uri="s3://b/p"))))]
    end_to_end = rows[0][1] + rows[2][1]
    cmd = [sys.executable, "-m", "kserve_bridge", "convert", str(EXAMPLE), "--storage-uri", "gs://b/x"]
    walls = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
    rows.append(("kserve-bridge convert (process, median of 5)", statistics.median(walls)))
    print(f"{'step':<48} {'seconds':>9}")
    for name, seconds in rows:
        print(f"{name:<48} {seconds:>9.3f}")
    ok_bulk, ok_cli = end_to_end < 1.0, rows[-1][1] <= 0.3
    print(f"{'PASS' if ok_bulk else 'FAIL'}: load+translate+render of {N_APIS} APIs {end_to_end:.3f}s (target < 1 s)")
    print(f"{'PASS' if ok_cli else 'FAIL'}: convert process {rows[-1][1]:.3f}s (target <= 0.3 s)")
    return 0 if ok_bulk and ok_cli else 1


if __name__ == "__main__":
    sys.exit(main())
