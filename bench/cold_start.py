"""Cold start, interleaved: the server as the pod starts it, and `kserve-bridge serve`, against the bare
reference on the same model (scale-to-zero makes time to first prediction a user's latency).

    python -m bench.cold_start [--rounds 9] [--no-bytecode] [--baseline CHECKOUT] [--json FILE]

Each round starts, one after the other: the reference (python + import sklearn/joblib + joblib.load +
one predict, bench/reference.py), the pod path (`python -m modelserver` with the settings `convert`
writes, bench/servers.py) and `kserve-bridge serve PROJECT`. A server is timed from Popen to its first
200 prediction, then stopped. Medians over the rounds of wall time (the targets: pod <= 1.2x and serve
<= 1.35x the reference's) and of CPU time (user + system until then: what a busy machine distorts
least). Interleaving keeps a busy machine's slow spells from landing on one row only.

--baseline: also start the pod and serve paths from another checkout's code (an A/B in one run).
--no-bytecode: no start reads or writes compiled bytecode (an empty PYTHONPYCACHEPREFIX and
PYTHONDONTWRITEBYTECODE=1), as in an image without precompiled bytecode: every start compiles every
module it imports (the Dockerfile's compileall step is what avoids that).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .models import Workload, build_iris
from .projects import write_project
from .reference import COLD_SCRIPT
from .servers import REPO, Launch, Running, free_port, ours

TARGETS = {"pod": 1.2, "serve": 1.35}


def serve_launch(w: Workload, work: Path) -> Launch:
    """`kserve-bridge serve PROJECT` (it reads cortex.yaml, then runs `python -m modelserver` in its process)."""
    project = write_project(w, work / "projects", batching=False)
    port = free_port()
    argv = [sys.executable, "-m", "kserve_bridge", "serve", str(project), "--port", str(port)]
    return Launch(argv, port, f"/v1/models/{w.name}:predict", w.v1_body())


def reference(w: Workload) -> tuple[float, float]:
    """(wall, CPU) seconds of the reference process."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", COLD_SCRIPT.format(path=str(w.model_path))], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference failed: {proc.stderr.read().decode()[-300:] if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def server(launch: Launch, log: Path) -> tuple[float, float]:
    """(wall, CPU) seconds from Popen to the first 200 prediction (CPU: the server process's, read then)."""
    import psutil

    running = Running(launch, log)
    try:
        cpu = psutil.Process(running.proc.pid).cpu_times()
        assert running.cold_start_s is not None
        return running.cold_start_s, cpu.user + cpu.system
    finally:
        running.stop()


def code_from(launch: Launch, checkout: Path | None) -> Launch:
    """`launch` running the server code of another checkout (an A/B against it in the same run)."""
    if checkout is not None:
        launch.env = {**launch.env, "PYTHONPATH": str(checkout)}
    return launch


def run(rounds: int, work: Path, baseline: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """{"wall"|"cpu": {"reference"|"pod"|"serve"[|"pod@base"|"serve@base"]: seconds per round}}."""
    w = build_iris(work / "models")
    times: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
    checkouts: list[tuple[str, Path | None]] = [("", None)] + ([("@base", baseline)] if baseline else [])

    def record(path: str, wall_cpu: tuple[float, float]) -> None:
        times["wall"].setdefault(path, []).append(wall_cpu[0])
        times["cpu"].setdefault(path, []).append(wall_cpu[1])

    for n in range(rounds):
        record("reference", reference(w))
        for tag, checkout in checkouts:
            record(f"pod{tag}", server(code_from(ours(w, work, False), checkout), work / f"pod{tag}-{n}.log"))
            record(f"serve{tag}", server(code_from(serve_launch(w, work), checkout), work / f"serve{tag}-{n}.log"))
        print(f"round {n + 1}/{rounds}: " + ", ".join(
            f"{k} {v[-1]:.2f}s ({times['cpu'][k][-1]:.2f}s CPU)" for k, v in times["wall"].items()), flush=True)
    return times


def report(times: dict[str, dict[str, list[float]]]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Median lines (wall, and CPU: what a busy machine distorts least) and the targets, judged on wall time."""
    medians = {kind: {k: statistics.median(v) for k, v in by_path.items()} for kind, by_path in times.items()}
    wall, cpu = medians["wall"], medians["cpu"]
    lines = [f"{k:>9}: median {wall[k]:.2f}s wall = {wall[k] / wall['reference']:.2f}x, {cpu[k]:.2f}s CPU = "
             f"{cpu[k] / cpu['reference']:.2f}x ({len(times['wall'][k])} starts)" for k in wall]
    for path, limit in TARGETS.items():
        ratio = wall[path] / wall["reference"]
        lines.append(f"{'PASS' if ratio <= limit else 'FAIL'}: iris {path} cold start <= {limit}x the reference "
                     f"({wall[path]:.2f}s vs {wall['reference']:.2f}s = {ratio:.2f}x)")
    return lines, medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module at every start")
    parser.add_argument("--baseline", type=Path, help="another checkout: its pod and serve rows interleaved too")
    parser.add_argument("--json", type=Path, help="write the raw times here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        work = Path(tmp)
        if args.no_bytecode:  # inherited by every start (Running and _wall pass os.environ on)
            (work / "no-pycache").mkdir()
            os.environ.update(PYTHONPYCACHEPREFIX=str(work / "no-pycache"), PYTHONDONTWRITEBYTECODE="1")
        times = run(args.rounds, work, args.baseline)
    lines, medians = report(times)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"times": times, "medians": medians, "no_bytecode": args.no_bytecode},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
