"""Load generation: wrk (closed loop, one thread) when installed, else an async httpx client.

`drive(url, body, concurrency, seconds, headers)` returns a LoadResult either way.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = '''wrk.method = "POST"
{headers}
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*all")
f:close()
'''
JSON = {"Content-Type": "application/json"}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class LoadResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus socket errors
    tool: str


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Parse `wrk --latency` output (the percentile table, Requests/sec and error lines)."""
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))
    requests = re.search(r"^\s*(\d+) requests in", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not (requests and rps and "50" in pct and "99" in pct):
        raise ValueError(f"unrecognised wrk output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return LoadResult(int(requests.group(1)), float(rps.group(1)), _ms(pct["50"]), _ms(pct["99"]),
                      errors, "wrk")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_wrk(url: str, body: bytes, concurrency: int, seconds: float, headers: dict[str, str]) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        body_file, script = Path(tmp) / "body.json", Path(tmp) / "post.lua"
        body_file.write_bytes(body)
        lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())
        script.write_text(WRK_SCRIPT.format(body=body_file, headers=lines))
        cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "--latency", "-s", str(script), url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()}")
    return parse_wrk(done.stdout)


async def _run_httpx(url: str, body: bytes, concurrency: int, seconds: float,
                     headers: dict[str, str]) -> LoadResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - start) * 1e3)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return LoadResult(len(latencies), len(latencies) / elapsed, percentile(latencies, 50),
                      percentile(latencies, 99), errors, "httpx")


def drive(url: str, body: bytes, concurrency: int, seconds: float, headers: dict[str, str] | None = None) -> LoadResult:
    """`headers`: the request's headers (default: a JSON content type)."""
    if shutil.which("wrk"):
        return run_wrk(url, body, concurrency, seconds, headers or JSON)
    return asyncio.run(_run_httpx(url, body, concurrency, seconds, headers or JSON))
