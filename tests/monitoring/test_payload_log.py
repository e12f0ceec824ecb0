"""Payload logging against a real HTTP receiver on loopback: normal, down, stalled, rejecting; and a file."""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from modelserver.payload_log import REQUEST_TYPE, RESPONSE_TYPE, PayloadLog, Source
from tests.monitoring.conftest import REPO, load_script

stack = load_script("monitoring_stack")
ARRIVED = datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=timezone.utc).timestamp()


class Receiver:
    """A CloudEvents receiver: keeps (headers, body) of each POST; `stall` holds answers until `released`
    is set; `gated` answers one POST per permit that `allow` gives (the others wait)."""

    def __init__(self, status: int = 200, stall: bool = False, gated: bool = False):
        self.events: list[tuple[dict, bytes]] = []
        self.arrived = threading.Condition()
        self.released = threading.Event()
        self.permits, self.answered = threading.Semaphore(0), 0
        if not stall:
            self.released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.events.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.arrived.notify_all()
                receiver.released.wait()
                if gated and not receiver.permits.acquire(timeout=300):
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.arrived:
                    receiver.answered += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[dict, bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.events) >= count, timeout), self.events
            return list(self.events)

    def allow(self, count: int) -> None:
        self.permits.release(count)

    def close(self) -> None:
        self.released.set()
        self.permits.release(1000)
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request):
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]
    yield make
    for r in made:
        r.close()


def scope(*headers: tuple[str, str]) -> dict:
    return {"type": "http", "method": "POST", "headers": [(k.encode(), v.encode()) for k, v in headers]}


def dropped(api: str, reason: str) -> float:
    return REGISTRY.get_sample_value("kserve_bridge_payload_log_dropped_total", {"api": api, "reason": reason}) or 0


def wait_dropped(api: str, reason: str, count: int) -> None:
    stack.wait_until(lambda: dropped(api, reason) >= count, 30, f"{count} {reason} drops", poll=0.01)


def source(api: str) -> Source:
    return Source(api=api, source="http://localhost:8080/", namespace="team-a",
                  annotations={"kserve-bridge.io/deployment-id": "abc123"})


def test_request_and_response_reach_the_receiver_as_kserve_cloudevents(receiver):
    sink = receiver()
    log = PayloadLog(sink.url, source("normal"), metadata_headers=["x-request-id"]).start()
    try:
        log.submit(scope(("content-type", "application/json"), ("x-request-id", "r-1"), ("x-other", "no"),
                         ("ce-id", "call-7")), b'{"x": 1}', 200, b'{"y": 2}', ARRIVED)
        (request, request_body), (response, response_body) = sink.wait_for(2)
    finally:
        log.close(timeout=30)
    assert (request["ce-type"], response["ce-type"]) == (REQUEST_TYPE, RESPONSE_TYPE)  # in order
    assert request["ce-id"] == response["ce-id"] == "call-7"
    assert (request_body, response_body) == (b'{"x": 1}', b'{"y": 2}')
    for headers in (request, response):
        assert headers["ce-specversion"] == "1.0" and headers["content-type"] == "application/json"
        assert headers["ce-source"] == "http://localhost:8080/"
        assert headers["ce-inferenceservicename"] == "normal" and headers["ce-namespace"] == "team-a"
        assert headers["ce-component"] == "predictor" and headers["ce-endpoint"] == "default"
        assert json.loads(headers["ce-metadata"]) == {"X-Request-Id": ["r-1"]}
        assert json.loads(headers["ce-annotations"]) == {"kserve-bridge.io/deployment-id": "abc123"}
    assert request["ce-time"] == "2026-01-02T03:04:05.500000Z"  # arrival, RFC 3339 UTC


@pytest.mark.parametrize("mode,status,kinds", [
    ("all", 500, [REQUEST_TYPE]),  # a failed call logs its request only, as KServe's agent does
    ("request", 200, [REQUEST_TYPE]),
    ("response", 200, [RESPONSE_TYPE]),
])
def test_mode_and_status_decide_what_is_logged(receiver, mode, status, kinds):
    sink = receiver()
    log = PayloadLog(sink.url, source(f"mode-{mode}-{status}"), mode=mode).start()
    log.submit(scope(), b"{}", status, b"{}", 0.0)
    log.close(timeout=30)  # delivers what is queued first
    assert [headers["ce-type"] for headers, _ in sink.events] == kinds
    assert [h["ce-id"] for h, _ in sink.events] and all(len(h["ce-id"]) == 36 for h, _ in sink.events)  # uuid4


def test_a_receiver_that_is_down_drops_with_a_counter_and_one_warning(caplog):
    down = f"http://127.0.0.1:{stack.free_port()}/"  # nothing listens there
    log = PayloadLog(down, source("down")).start()
    with caplog.at_level(logging.WARNING, logger="modelserver"):
        for _ in range(5):
            log.submit(scope(), b"{}", 200, b"{}", 0.0)
        wait_dropped("down", "unreachable", 10)
        log.close(timeout=30)
    warnings = [r for r in caplog.records if "payload log: dropped a record" in r.getMessage()]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()  # at most one per WARN_EVERY_S


def test_a_rejecting_receiver_counts_as_dropped(receiver):
    sink = receiver(status=503)
    log = PayloadLog(sink.url, source("rejecting")).start()
    log.submit(scope(), b"{}", 200, b"{}", 0.0)
    log.close(timeout=30)
    assert dropped("rejecting", "rejected") == 2 and len(sink.events) == 2


def test_a_stalled_receiver_fills_the_bounded_queue_and_submit_never_blocks(receiver):
    sink = receiver(stall=True)
    log = PayloadLog(sink.url, source("stalled"), mode="request", queue_size=2).start()
    log.submit(scope(), b'{"n": 0}', 200, b"", 0.0)
    sink.wait_for(1)  # the sender thread is now stuck in that POST
    for n in range(1, 11):  # would hang here if submit waited for the sink
        log.submit(scope(), json.dumps({"n": n}).encode(), 200, b"", 0.0)
    assert dropped("stalled", "queue_full") == 8  # 2 wait in the queue
    sink.released.set()
    log.close(timeout=30)
    assert [json.loads(body)["n"] for _, body in sink.events] == [0, 1, 2]


def test_the_queue_is_bounded_in_bytes_too(receiver):
    sink = receiver(stall=True)
    log = PayloadLog(sink.url, source("bytes"), mode="request", max_queued_bytes=100).start()
    log.submit(scope(), b"first", 200, b"", 0.0)
    sink.wait_for(1)
    log.submit(scope(), b"x" * 60, 200, b"", 0.0)  # queued: 60 of 100 bytes
    log.submit(scope(), b"y" * 60, 200, b"", 0.0)  # would make 120: dropped
    log.submit(scope(), b"z" * 40, 200, b"", 0.0)  # 100: queued
    assert dropped("bytes", "queue_full") == 1
    sink.released.set()
    log.close(timeout=30)
    assert [body[:1] for _, body in sink.events] == [b"f", b"x", b"z"]


def test_file_sink_writes_structured_cloudevents(tmp_path):
    path = tmp_path / "records.jsonl"
    log = PayloadLog(str(path), source("file")).start()
    log.submit(scope(("content-type", "application/json")), b'{"x": [1, 2]}', 200, b'{"y": 3}', 0.0)
    log.submit(scope(("content-type", "application/octet-stream")), b"\xff\x00", 200, b"ok", 0.0)
    log.close(timeout=30)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in events] == [REQUEST_TYPE, RESPONSE_TYPE] * 2
    assert events[0]["data"] == {"x": [1, 2]} and events[1]["data"] == {"y": 3}
    assert events[2]["data_base64"] == "/wA=" and events[3]["data"] == "ok"
    assert events[0]["id"] == events[1]["id"] != events[2]["id"]
    assert all(e["datacontenttype"] and e["specversion"] == "1.0" for e in events)


def test_an_unwritable_file_fails_at_start(tmp_path):
    with pytest.raises(OSError):
        PayloadLog(str(tmp_path / "missing" / "records.jsonl"), source("nofile")).start()


def test_serve_answers_while_the_receiver_stalls(receiver, tmp_path):
    """`kserve-bridge serve --log-requests URL`: predictions answer while the sink holds every record."""
    sink = receiver(stall=True)
    project = stack.watched_project(tmp_path / "project")
    port = stack.free_port()
    server = stack.serve(project, port, tmp_path / "serve.log", "--log-requests", sink.url)
    try:
        url = f"http://127.0.0.1:{port}/audited-iris"
        assert stack.call(url, stack.ROWS[0], {"x-request-id": "first"}) == 200
        sink.wait_for(1)  # the sender is stuck on the first record
        assert stack.traffic(url, 6, threads=1) == {200: 6}
        sink.released.set()
        events = sink.wait_for(14)
    finally:
        stack.stop(server)
    first_request, first_response = events[0][0], events[1][0]
    assert first_request["ce-id"] == first_response["ce-id"]
    assert json.loads(first_request["ce-metadata"]) == {"X-Request-Id": ["first"]}
    assert first_request["ce-inferenceservicename"] == "audited-iris"
    assert len(json.loads(first_request["ce-annotations"])["kserve-bridge.io/deployment-id"]) == 12
    assert json.loads(events[1][1])["species"] == "setosa"


class DiskWriter:
    """tests/monitoring/disk_writer.py in its own process, appending records to `sink`."""

    def __init__(self, sink: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.monitoring.disk_writer", str(sink)],
                                     cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, command: str) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, f"disk_writer exited with {self.proc.wait()}"
        return json.loads(answer)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount(8)): ("tmpfs", mount point)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def intact_records(path: Path) -> list[int]:
    """The `n` of each line; fails on a line that is not one whole record."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"the file ends in a cut record: ...{data[-80:]!r}"
    return [json.loads(line)["data"]["n"] for line in data.splitlines()]


@pytest.mark.parametrize("disk", ["tmpfs", "size-capped file"])
def test_a_full_disk_keeps_whole_records_counts_the_rest_and_resumes(tmp_path, request, disk):
    """The file holds exactly the records counted as sent, all whole; the others count as lost
    (`unwritable`); once space returns, logging goes on by itself."""
    if disk == "tmpfs":
        root = request.getfixturevalue("small_disk")
        (root / "filler").write_bytes(b"\0" * 96 * 1024)  # removed below: the space that "returns"
    else:
        root = tmp_path
    sink = root / "records.jsonl"
    writer = DiskWriter(sink)
    try:
        if disk != "tmpfs":
            writer(f"limit {160 * 1024}")
        full = writer("write 300 1000")  # ~400 KiB for ~160 KiB of room
        assert full["sent"] + full["unwritable"] == 300 and full["sent"] > 0 and full["unwritable"] > 0
        assert intact_records(sink) == list(range(full["sent"]))  # whole, in order, nothing else
        if disk == "tmpfs":
            (root / "filler").unlink()
        else:
            writer("limit none")
        resumed = writer("write 40 1000")
        closed = writer("close")
    finally:
        writer.stop()
    assert resumed["sent"] == full["sent"] + 40 and resumed["unwritable"] == full["unwritable"]
    assert intact_records(sink) == list(range(full["sent"])) + list(range(300, 340))
    assert closed == resumed  # nothing was left to lose at close


def test_sigterm_delivers_what_the_budget_allows_and_counts_the_rest(receiver, tmp_path):
    """SIGTERM with a slow sink and a full queue: the server delivers what it can within its 10 s budget,
    then says how many records it did not deliver, and why, before it exits 0."""
    sink = receiver(gated=True)
    project = stack.watched_project(tmp_path / "project")
    port = stack.free_port()
    log_file = tmp_path / "serve.log"
    server = stack.serve(project, port, log_file, "--log-requests", sink.url)
    try:
        url = f"http://127.0.0.1:{port}/audited-iris"
        assert stack.traffic(url, 20, threads=1) == {200: 20}  # 40 records: 1 waits on the sink, 39 queued
        sink.wait_for(1)
        os.killpg(server.pid, signal.SIGTERM)
        stack.wait_until(lambda: "before stopping" in log_file.read_text(), 60, "the payload log draining",
                         process=server)
        sink.allow(5)  # the sink answers 5 records, then is stuck again (each POST times out after 5 s)
        assert server.wait(timeout=120) == 0
    finally:
        stack.stop(server)
    text = log_file.read_text()
    summary = re.search(r"payload log: stopped; (\d+) records delivered to \S+, (\d+) lost \(([^)]*)\)", text)
    assert summary, text[-3000:]
    assert int(summary[1]) == sink.answered == 5 and int(summary[2]) == 35
    lost = dict(part.split() for part in summary[3].split(", "))
    assert set(lost) <= {"unreachable", "shutdown"} and int(lost["shutdown"]) > 0
    assert f"payload log: {lost['shutdown']} records not delivered to {sink.url} within the 10 s shutdown " \
           "budget" in text
