"""Shadow traffic: copy a share of the predict requests this server answers to a candidate
revision's URL; the copies' answers are discarded.

`canary auto --shadow` writes the configuration into a ConfigMap that every translated
predictor mounts (optional), so it reaches running pods without a new revision:

    {"target": "http://latest-iris-predictor.models.example.com", "percent": 20,
     "max_in_flight": 4, "source_revision": "iris-predictor-00001"}

Only the `source_revision` pod mirrors (Knative's K_REVISION; any pod when unset). Extra
load is bounded: at most `max_in_flight` copies are on the wire, each on its own worker
thread; a copy that finds every slot taken is dropped, never queued. Copies carry
`X-Kserve-Bridge-Shadow: 1` and are never mirrored again. The file is re-read when its
mtime changes, checked at most every RELOAD_SECONDS; no file means off.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from prometheus_client import Counter

from kserve_bridge.contract import SHADOW_DIR, SHADOW_FILE, SHADOW_FILE_ENV

log = logging.getLogger("modelserver")
SHADOW_HEADER = b"x-kserve-bridge-shadow"
RELOAD_SECONDS = 2.0
COPIES = Counter("kserve_bridge_shadow_copies_total", "requests copied to the shadow target, by result",
                 ["result"])  # sent, failed, dropped


@dataclass(frozen=True)
class ShadowConfig:
    host: str
    port: int
    base_path: str
    percent: float
    max_in_flight: int

    @classmethod
    def parse(cls, data: dict) -> ShadowConfig | None:
        """None when mirroring is off for this pod; ValueError when the file is wrong."""
        source = data.get("source_revision")
        if source and os.environ.get("K_REVISION") not in (None, source):
            return None
        url = urlsplit(str(data["target"]))
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"target must be an http:// URL (got {data['target']!r})")
        percent, slots = float(data.get("percent", 0)), int(data.get("max_in_flight", 4))
        if not 0 <= percent <= 100 or not 1 <= slots <= 64:
            raise ValueError("percent must be within 0..100 and max_in_flight within 1..64")
        return cls(url.hostname, url.port or 80, url.path.rstrip("/"), percent, slots) if percent else None


class Mirror:
    """Decides per request whether to copy it, and sends the copies off the request path."""

    def __init__(self, path: str, reload_seconds: float = RELOAD_SECONDS):
        self.path, self.reload_seconds = path, reload_seconds
        self.config: ShadowConfig | None = None
        self._next_check, self._credit = 0.0, 0.0
        self._stamp: tuple[int, int, int] | None = None  # mtime, size, inode of the file last read
        self._slots = threading.BoundedSemaphore(1)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def offer(self, path: str, body: bytes, content_type: str, headers: list[tuple[bytes, bytes]]) -> bool:
        """Maybe copy this request; True when a copy was started. Never blocks, never raises."""
        config = self._current()
        if config is None or any(k == SHADOW_HEADER for k, _ in headers):
            return False
        with self._lock:  # deterministic share: every (100 / percent)-th request
            self._credit += config.percent
            if self._credit < 100:
                return False
            self._credit -= 100
        slots, pool = self._slots, self._pool
        if pool is None:  # made with the config; None only if it was never read
            return False
        if not slots.acquire(blocking=False):
            COPIES.labels("dropped").inc()
            return False
        pool.submit(self._send, slots, config, path, body, content_type)
        return True

    def close(self) -> None:
        """Stop the copying threads, once the copies under way have ended."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    @staticmethod
    def _send(slots: threading.BoundedSemaphore, config: ShadowConfig, path: str, body: bytes,
              content_type: str) -> None:
        try:
            conn = http.client.HTTPConnection(config.host, config.port, timeout=10)
            try:
                conn.request("POST", config.base_path + path, body, {
                    "Content-Type": content_type or "application/json", SHADOW_HEADER.decode(): "1"})
                conn.getresponse().read()  # discarded: judged through the target's own metrics
            finally:
                conn.close()
            COPIES.labels("sent").inc()
        except (OSError, http.client.HTTPException) as exc:
            COPIES.labels("failed").inc()
            log.debug("shadow copy to %s failed: %s", config.host, exc)
        finally:
            slots.release()

    def _current(self) -> ShadowConfig | None:
        now = time.monotonic()
        if now < self._next_check:
            return self.config
        self._next_check = now + self.reload_seconds
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._load(stamp is not None)
        return self.config

    def _load(self, present: bool) -> None:
        config = None
        if present:
            try:
                with open(self.path) as f:
                    config = ShadowConfig.parse(json.load(f))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring shadow configuration %s: %s", self.path, exc)
        if config is not None and (self.config is None or config.max_in_flight != self.config.max_in_flight):
            old = self._pool
            self._slots = threading.BoundedSemaphore(config.max_in_flight)
            self._pool = ThreadPoolExecutor(config.max_in_flight, thread_name_prefix="shadow")
            if old is not None:
                old.shutdown(wait=False)
        if config != self.config:
            log.info("shadow traffic %s", f"{config.percent:g}% to {config.host}" if config else "off")
        self.config = config


def from_env() -> Mirror:
    return Mirror(os.environ.get(SHADOW_FILE_ENV, f"{SHADOW_DIR}/{SHADOW_FILE}"))
