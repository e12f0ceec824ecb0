"""A smoke check before any traffic moves: send fixed requests to the canary's own URL
(Serverless: the `latest` tag URL; Raw: the canary Deployment's Service) and require 2xx
and, where given, the expected JSON body.

File format (YAML or JSON), a list of requests:

    - path: /v1/models/iris:predict      # required, starts with /
      body: {"instances": [[1, 2, 3, 4]]}  # JSON body; POST when present, else GET
      expect_status: 200                  # optional; default: any 2xx
      expect_body: {"predictions": [0]}   # optional; compared as JSON
      headers: {"Authorization": "..."}  # optional
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ...errors import BridgeError

_KEYS = {"path", "body", "expect_status", "expect_body", "headers", "method"}


@dataclass(frozen=True)
class SmokeRequest:
    path: str
    body: object = None
    method: str = "GET"
    expect_status: int | None = None
    expect_body: object = None
    has_expected_body: bool = False
    headers: tuple[tuple[str, str], ...] = ()


def load_smoke(path: str | Path) -> list[SmokeRequest]:
    """Parse and check a smoke file; every problem raises BridgeError naming the entry."""
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BridgeError(f"cannot read smoke file {path}: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise BridgeError(f"smoke file {path}: expected a non-empty list of requests")
    requests = []
    for i, entry in enumerate(data):
        where = f"smoke file {path}, request {i + 1}"
        if not isinstance(entry, dict):
            raise BridgeError(f"{where}: expected a mapping, got {entry!r}")
        if unknown := sorted(set(entry) - _KEYS):
            raise BridgeError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
        route = entry.get("path")
        if not isinstance(route, str) or not route.startswith("/"):
            raise BridgeError(f"{where}: path must be a string starting with / (got {route!r})")
        status = entry.get("expect_status")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise BridgeError(f"{where}: expect_status must be an HTTP status code (got {status!r})")
        headers = entry.get("headers") or {}
        if not isinstance(headers, dict):
            raise BridgeError(f"{where}: headers must be a mapping")
        method = entry.get("method") or ("POST" if "body" in entry else "GET")
        requests.append(SmokeRequest(route, entry.get("body"), str(method).upper(), status,
                                     entry.get("expect_body"), "expect_body" in entry,
                                     tuple((str(k), str(v)) for k, v in headers.items())))
    return requests


def run_smoke(base_url: str, requests: list[SmokeRequest], timeout: float = 10.0) -> list[str]:
    """Send every request; returns one line per failure (empty: all passed)."""
    failures = []
    for i, req in enumerate(requests, 1):
        data = None if req.body is None else json.dumps(req.body).encode()
        headers = dict(req.headers, **({"Content-Type": "application/json"} if data is not None else {}))
        http = urllib.request.Request(base_url.rstrip("/") + req.path, data=data, method=req.method,
                                      headers=headers)
        what = f"#{i} {req.method} {req.path}"
        try:
            with urllib.request.urlopen(http, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            failures.append(f"{what}: no answer from {base_url} ({exc})")
            continue
        ok = status == req.expect_status if req.expect_status else 200 <= status < 300
        if not ok:
            failures.append(f"{what}: HTTP {status} {body[:200].decode(errors='replace')}")
        elif req.has_expected_body:
            try:
                got = json.loads(body)
            except ValueError:
                got = body.decode(errors="replace")
            if got != req.expect_body:
                failures.append(f"{what}: body {str(got)[:200]} != expected {str(req.expect_body)[:200]}")
    return failures
