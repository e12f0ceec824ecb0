"""Payload logging as KServe's logger agent does it: each request and response as a CloudEvent.

`PayloadLogMiddleware` (ASGI, outermost) copies the body of every POST and its 200 response
into `PayloadLog.submit`, which never blocks: records wait in a queue bounded in records and
bytes for one sender thread, which takes them every 50 ms or as soon as 64 wait (not one
thread switch per record); a full queue drops the record. The thread POSTs each record to an http(s)
sink in CloudEvents binary mode (the `ce-*` headers of KServe's agent) or appends it to a
file as a JSON line (CloudEvents' structured JSON form). A sink that is down or answers
non-2xx loses that record. A file write that fails part-way (disk full) is cut back to its last
whole line: the file holds only whole records, exactly those counted as sent; the rest of the batch
is lost ("unwritable") and the next batch tries again. `close` delivers what it can within its
budget; what is still queued then is lost ("shutdown"). Every loss counts in
`kserve_bridge_payload_log_dropped_total` and logs a warning (at most one per WARN_EVERY_S).
"""
from __future__ import annotations

import base64
import errno
import fcntl
import http.client
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NoReturn
from urllib.parse import urlsplit

import orjson
from prometheus_client import Counter

from kserve_bridge.contract import canonical_header

log = logging.getLogger("modelserver")
REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
WARN_EVERY_S = 10.0
FLUSH_EVERY_S, WAKE_AT = 0.05, 64  # the sender wakes every 50 ms, or at once for 64 waiting records
SENT = Counter("kserve_bridge_payload_log_records_total", "Payload records delivered to the sink", ["api"])
REASONS = ("queue_full", "unreachable", "rejected", "unwritable", "shutdown")
DROPPED = Counter("kserve_bridge_payload_log_dropped_total", f"Payload records lost ({', '.join(REASONS)})",
                  ["api", "reason"])
DRAIN_S = 10.0  # at shutdown, how long queued records may take to reach the sink


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Source:
    """Who is logging: the attributes every record carries."""

    api: str
    source: str
    namespace: str = "default"
    endpoint: str = "default"
    component: str = "predictor"
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    kind: str
    id: str
    body: bytes
    content_type: str
    metadata: dict[str, list[str]]
    occurred: float

    def attributes(self, src: Source) -> dict[str, str]:
        """The CloudEvent's attributes, as KServe's agent sets them."""
        attrs = {"specversion": "1.0", "id": self.id, "source": src.source, "type": self.kind,
                 "time": rfc3339(self.occurred), "recordedtime": rfc3339(time.time()),
                 "inferenceservicename": src.api, "namespace": src.namespace, "component": src.component,
                 "endpoint": src.endpoint, "metadata": orjson.dumps(self.metadata).decode()}
        if src.annotations:
            attrs["annotations"] = orjson.dumps(src.annotations).decode()
        return attrs

    def json_line(self, src: Source) -> bytes:
        """CloudEvents' structured JSON form: JSON data inline, anything else base64."""
        event: dict[str, Any] = self.attributes(src)
        if self.content_type:
            event["datacontenttype"] = self.content_type
        try:
            event["data"] = orjson.loads(self.body) if "json" in self.content_type else self.body.decode()
        except (ValueError, UnicodeDecodeError):
            event["data_base64"] = base64.b64encode(self.body).decode()
        return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


HTTP_SINKS = ("http://", "https://")  # a CloudEvents receiver; any other sink is a file


def check_sink(sink: str) -> None:
    """OSError now when `sink` is a file that cannot be appended to: a bad path fails at startup,
    not per record (an http(s) receiver may come up later)."""
    if not sink.startswith(HTTP_SINKS):
        open(sink, "ab").close()


class PayloadLog:
    """A bounded queue of records and the thread that delivers them to `sink` (a URL or a file path)."""

    def __init__(self, sink: str, src: Source, mode: str = "all", metadata_headers: list[str] | tuple = (),
                 queue_size: int = 1000, timeout_s: float = 5.0, max_queued_bytes: int = 256 * 1024 * 1024):
        self.sink, self.src, self.mode, self.timeout_s = sink, src, mode, timeout_s
        self.max_queued_bytes, self.queued_bytes, self.lock = max_queued_bytes, 0, threading.Lock()
        # raw (lower-case) header name -> the name on records; ce-id and content-type are read too
        self.wanted = {h.lower().encode("latin-1"): canonical_header(h) for h in metadata_headers}
        self.wanted.update({b"ce-id": "Ce-Id", b"content-type": "Content-Type"})
        self.metadata_names = {canonical_header(h) for h in metadata_headers}
        self.pending: deque[Record] = deque()
        self.queue_size, self.wake, self.stopping = queue_size, threading.Event(), False
        self.http = urlsplit(sink) if sink.startswith(HTTP_SINKS) else None
        self.sent = SENT.labels(src.api)
        # created at zero, so that rate() and the alert see them before the first loss
        self.dropped = {reason: DROPPED.labels(src.api, reason) for reason in REASONS}
        self.counts = dict.fromkeys(("sent", *REASONS), 0)  # this logger's own totals, for the closing line
        self.in_flight, self.abandoned = 0, False  # records taken by the sender; True once close() gave up
        self.last_warning = 0.0
        self.thread = threading.Thread(target=self._run, name="payload-log", daemon=True)

    def start(self) -> PayloadLog:
        check_sink(self.sink)
        self.thread.start()
        return self

    def close(self, timeout: float | None = DRAIN_S) -> None:
        """Deliver what is queued within `timeout` seconds, then stop; records not delivered by then
        (queued, or taken by a sender still waiting on the sink) count as lost ("shutdown")."""
        log.info("payload log: delivering %d queued records to %s before stopping", len(self.pending), self.sink)
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout)
        with self.lock:
            self.abandoned = True  # the sender's late outcomes no longer count: these are counted here
            left = len(self.pending) + self.in_flight
            self.pending.clear()
            self.queued_bytes = self.in_flight = 0
            self._count("shutdown", left)
        if left:
            log.warning("payload log: %d records not delivered to %s within the %g s shutdown budget", left,
                        self.sink, timeout)
        lost = ", ".join(f"{reason} {n}" for reason, n in self.counts.items() if n and reason != "sent")
        log.info("payload log: stopped; %d records delivered to %s, %d lost%s", self.counts["sent"], self.sink,
                 sum(self.counts.values()) - self.counts["sent"], f" ({lost})" if lost else "")

    def submit(self, scope: dict, body: bytes, status: int, response: bytes, arrived: float) -> None:
        """Queue the request and (when 200) the response record of one call; never blocks."""
        headers: dict[str, list[str]] = {}
        for key, value in scope["headers"]:
            name = self.wanted.get(key)
            if name is not None:
                headers.setdefault(name, []).append(value.decode("latin-1"))
        rid = (headers.get("Ce-Id") or [str(uuid.uuid4())])[0]
        kind = (headers.get("Content-Type") or [""])[0]
        metadata = {k: v for k, v in headers.items() if k in self.metadata_names}
        if self.mode in ("all", "request"):
            self._put(Record(REQUEST_TYPE, rid, body, kind, metadata, arrived))
        if status == 200 and self.mode in ("all", "response"):  # KServe logs only successful responses
            self._put(Record(RESPONSE_TYPE, rid, response, kind, metadata, time.time()))

    def _put(self, record: Record) -> None:
        with self.lock:
            room = len(self.pending) < self.queue_size and self.queued_bytes + len(record.body) <= \
                self.max_queued_bytes
            if room:
                self.pending.append(record)
                self.queued_bytes += len(record.body)
        if not room:
            self._drop("queue_full", f"{len(self.pending)} records ({self.queued_bytes} bytes) waiting")
        elif len(self.pending) >= WAKE_AT and not self.wake.is_set():  # else it wakes every FLUSH_EVERY_S
            self.wake.set()

    def _take(self, most: int) -> list[Record]:
        with self.lock:
            if self.abandoned:
                return []
            batch = [self.pending.popleft() for _ in range(min(most, len(self.pending)))]
            self.queued_bytes -= sum(len(r.body) for r in batch)
            self.in_flight = len(batch)
        return batch

    def _count(self, outcome: str, n: int) -> None:
        """`n` records sent or lost (`outcome` a reason); called under `self.lock`."""
        if n:
            self.counts[outcome] += n
            (self.sent if outcome == "sent" else self.dropped[outcome]).inc(n)

    def _settle(self, sent: int, lost: int = 0, reason: str = "unreachable", detail: str = "") -> None:
        """The outcome of the sender's in-flight records; none counts once `close` has counted them."""
        with self.lock:
            if self.abandoned:
                return
            self.in_flight -= sent + lost
            self._count("sent", sent)
            self._count(reason, lost)
        if lost:
            self._warn(reason, detail)

    def _drop(self, reason: str, detail: str) -> None:
        with self.lock:
            self._count(reason, 1)
        self._warn(reason, detail)

    def _warn(self, reason: str, detail: str) -> None:
        now = time.monotonic()
        if now - self.last_warning >= WARN_EVERY_S or not self.last_warning:
            self.last_warning = now
            log.warning("payload log: dropped a record for %s (%s: %s)", self.sink, reason, detail)

    def _run(self) -> None:
        deliver = self._post if self.http is not None else self._append
        conn: list = [None]
        most = 1 if self.http is not None else 256  # one event per POST; a file takes many in one write
        while not (self.stopping and not self.pending) and not self.abandoned:
            self.wake.wait(FLUSH_EVERY_S)
            self.wake.clear()
            while batch := self._take(most):
                try:
                    deliver(batch, conn)
                except Exception as exc:  # noqa: BLE001 - the sink's failure must not end the thread
                    if conn[0] is not None:
                        conn[0].close()
                        conn[0] = None
                    self._settle(0, len(batch), "unreachable", f"{type(exc).__name__}: {exc}")

    def _append(self, batch: list[Record], conn: list) -> None:
        """One write of the batch's lines; cut back to the last whole line when the write stops short.
        An advisory lock keeps the processes of a replica, each appending to the file, out of a cut."""
        lines = [record.json_line(self.src) for record in batch]
        data = memoryview(b"".join(lines))
        if conn[0] is None:
            conn[0] = open(self.sink, "ab", buffering=0)
        fd = conn[0].fileno()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            start, written = os.lseek(fd, 0, os.SEEK_END), 0
            try:
                while written < len(data):
                    written += os.write(fd, data[written:]) or _no_space()
            except OSError as exc:
                whole = kept = 0
                while whole < len(lines) and kept + len(lines[whole]) <= written:
                    kept += len(lines[whole])
                    whole += 1
                if kept < written:
                    os.ftruncate(fd, start + kept)  # no cut record stays to fuse with the next line
                self._settle(whole, len(batch) - whole, "unwritable", exc.strerror or str(exc))
                return
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self._settle(len(batch))

    def _post(self, batch: list[Record], conn: list) -> None:
        (record,) = batch
        url, reused = self.http, conn[0] is not None
        if url is None:  # _deliver sends here only for an http(s) sink
            raise RuntimeError(f"{self.sink} is not an http(s) sink")
        if conn[0] is None:
            kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
            conn[0] = kind(url.hostname or "localhost", url.port, timeout=self.timeout_s)
        headers = {f"ce-{k}": v for k, v in record.attributes(self.src).items()}
        headers["Content-Type"] = record.content_type or "application/octet-stream"
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            conn[0].request("POST", target, body=record.body, headers=headers)
            answer = conn[0].getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            conn[0].close()  # the sink closed an idle keep-alive connection: once more on a new one
            conn[0].request("POST", target, body=record.body, headers=headers)
            answer = conn[0].getresponse()
        answer.read()
        if 200 <= answer.status < 300:
            self._settle(1)
        else:
            self._settle(0, 1, "rejected", f"HTTP {answer.status}")


def _no_space() -> NoReturn:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write that took nothing


class PayloadLogMiddleware:
    """Copies each POST's body and its response into `payload_log`; other requests pass untouched."""

    def __init__(self, app: Any, payload_log: PayloadLog):
        self.app, self.payload_log = app, payload_log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        arrived, body, status, response = time.time(), [], [0], []

        async def reading() -> dict:
            message = await receive()
            body.append(message.get("body", b""))
            return message

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                response.append(message.get("body", b""))
            await send(message)
        try:
            await self.app(scope, reading, sending)
        finally:
            self.payload_log.submit(scope, b"".join(body), status[0], b"".join(response), arrived)
