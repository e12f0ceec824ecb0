"""What drift costs a prediction: `python -m bench.drift [--duration S] [--rounds N]`.

The bench's iris workload (v1, one row, no batching) served as in the pod, with and without
kserve.monitoring.drift on its four features (reference: the iris training set; 10 bins each),
driven at concurrency 8. Prints the server's CPU time per request (process tree) and throughput of
each, and the ratio; rounds alternate the two to spread the noise of a shared machine. Target
(docs/benchmarks.md): drift costs <= 1% CPU per request.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
from pathlib import Path

from kserve_bridge.contract import ServerSettings
from kserve_bridge.drift import drift_features
from kserve_bridge.spec.models import Drift

from .models import build_iris
from .servers import Launch, Running, ours

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def with_drift(launch: Launch, root: Path) -> Launch:
    """The same server, its settings carrying drift bins computed from the iris training set."""
    from sklearn.datasets import load_iris

    with (root / "reference.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FEATURES)
        writer.writerows(load_iris().data.tolist())
    settings = ServerSettings.from_env(launch.env)
    assert settings is not None
    settings.drift = drift_features(Drift(reference="reference.csv", features=FEATURES), root)
    return Launch(launch.argv, launch.port, launch.path, launch.body, {**launch.env, **settings.to_env()})


def in_process_us(root: Path) -> float:
    """DriftMeter.observe on the bench's request, in this process (best of 5), in microseconds."""
    import asyncio
    import json
    import timeit

    from modelserver.drift import DriftMeter

    meter = DriftMeter("bench", drift_features(Drift(reference="reference.csv", features=FEATURES), root))
    payload, answer = json.loads(build_iris(root).v1_body()), [0]

    async def measure() -> float:  # observe arms its flush timer on the running loop
        return min(timeit.repeat(lambda: meter.observe(payload, answer), number=20000, repeat=5)) / 20000 * 1e6
    return asyncio.run(measure())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per load run (default 5)")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    cpu: dict[str, list[float]] = {"off": [], "drift, 4 features": []}
    rps: dict[str, list[float]] = {name: [] for name in cpu}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        workload = build_iris(root)
        for round_ in range(args.rounds):
            for name in cpu:
                launch = ours(workload, root, batching=False)
                if name != "off":
                    launch = with_drift(launch, root)
                result, cpu_us = Running.warmed_measure(launch, root / f"{round_}-{name[:3]}.log", 8, args.duration)
                cpu[name].append(cpu_us)
                rps[name].append(result.rps)
        micro = in_process_us(root)
    base = statistics.median(cpu["off"])
    print("| drift | CPU us/request (median) | per round | req/s | CPU vs off |")
    print("|---|---|---|---|---|")
    for name, values in cpu.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.0f}' for v in values)} | "
              f"{statistics.median(rps[name]):,.0f} | {statistics.median(values) / base:.3f}x |")
    print(f"in-process: counting one request's four features takes {micro:.2f} us, {100 * micro / base:.2f}% of "
          f"the {base:.0f} us of CPU a request costs without drift")
    ratio = statistics.median(cpu["drift, 4 features"]) / base
    print(f"{'PASS' if ratio <= 1.01 else 'FAIL'}: drift on four features {100 * (ratio - 1):+.1f}% CPU per request "
          f"at iris c8 (target <= +1%)")


if __name__ == "__main__":
    main()
