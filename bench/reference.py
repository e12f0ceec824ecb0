"""Reference timings that are not servers: the bare cold-start floor and the CLI's convert."""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_SCRIPT = ("import sklearn, joblib; model = joblib.load({path!r}); "
               "model.predict([[5.1, 3.5, 1.4, 0.2]])")


def _wall(argv: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120)
    return time.perf_counter() - began, done


def cold_reference(model_path: Path, repeats: int) -> float:
    """Median wall time of: python start + import sklearn + joblib.load + one predict."""
    times = []
    for _ in range(repeats):
        seconds, done = _wall([sys.executable, "-c", COLD_SCRIPT.format(path=str(model_path))])
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1])
        times.append(seconds)
    return statistics.median(times)


def convert_seconds(project: Path, repeats: int) -> tuple[float | None, str]:
    """Median wall time of `kserve-bridge convert PROJECT -o DIR` as a whole process, or (None, why)."""
    cli = shutil.which("kserve-bridge")
    if cli is None:
        return None, "kserve-bridge is not on PATH"
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            seconds, done = _wall([cli, "convert", str(project), "-o", out])
        if done.returncode != 0:
            return None, f"convert exited {done.returncode}: {(done.stderr or done.stdout).strip()[-200:]}"
        times.append(seconds)
    return statistics.median(times), ""
