"""Issue 13, model server: a hung predict, request timeouts, slow bodies, huge headers and
odd failures never freeze the server, hold its slots, or answer anything but JSON.

The predictor blocks on a FIFO the test opens when it wants the predict to return, and
writes a marker file first, so the test knows the predict is running. No sleeps order
events; client timeouts are generous and no assertion bounds wall-clock time.
"""
from __future__ import annotations

import json
import os
import re
import socket
import threading
from pathlib import Path

import httpx
import pytest

from kserve_bridge.contract import ServerSettings

from .conftest import make_project, wait_for

pytestmark = pytest.mark.slow

PREDICTOR = '''
import os
import sys


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no message")


class PythonPredictor:
    def __init__(self, config):
        self.dir = config["dir"]

    def predict(self, payload):
        action = payload.get("do") if isinstance(payload, dict) else None
        if action == "hang":  # until the test opens the FIFO for writing and closes it
            open(os.path.join(self.dir, "entered"), "w").close()
            with open(os.path.join(self.dir, "release")) as fifo:
                fifo.read()
            return {"released": True}
        if action == "exit":
            sys.exit(3)
        if action == "unprintable":
            raise UnprintableError()
        return {"ok": True}
'''
CLIENT_TIMEOUT = 60  # generous: a frozen loop fails the test by timing out, not by a time assertion


class Hang:
    """A predict blocked inside the predictor until `release()`."""

    def __init__(self, server, directory: Path, path: str = "/m"):
        self.dir, self.response = directory, None
        (directory / "entered").unlink(missing_ok=True)
        self.thread = threading.Thread(target=self._post, args=(server.url + path,))
        self.thread.start()
        entered = directory / "entered"  # the predictor is inside predict (or the request ended first)
        wait_for(lambda: entered.exists() or not self.thread.is_alive(), "the predict to start", CLIENT_TIMEOUT)
        assert entered.exists(), f"the predict never started: {self.response}"

    def _post(self, url: str) -> None:
        self.response = httpx.post(url, json={"do": "hang"}, timeout=CLIENT_TIMEOUT)

    def release(self) -> None:
        with open(self.dir / "release", "w") as fifo:  # the predictor's open() returns; read() sees EOF
            fifo.write("go")
        self.thread.join(CLIENT_TIMEOUT)


@pytest.fixture
def start(tmp_path, serve):
    def start(**settings) -> tuple:
        project = make_project(tmp_path / "p", "- name: m\n  kind: RealtimeAPI\n  predictor:\n    type: python\n"
                                                "    path: predictor.py\n", PREDICTOR)
        os.mkfifo(project / "release")
        env = ServerSettings(api_name="m", predictor_type="python", predictor_path="predictor.py", endpoint="/m",
                             config={"dir": str(project)}, **settings).to_env()
        return serve(project, env=env), project
    return start


def metric(server, name: str, **labels: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=CLIENT_TIMEOUT).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_hung_predict_leaves_health_metrics_and_503s_answering(start):
    server, project = start(max_concurrency=1)
    with server.client() as client:
        for _ in range(200):  # fast predicts: nothing may move the next one onto the event loop
            assert client.post("/m", json={}).json() == {"ok": True}
    hang = Hang(server, project)
    try:
        with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").json() == {"ready": True}
            assert "kserve_bridge_requests_in_flight" in client.get("/metrics").text
            busy = client.post("/m", json={})
            assert busy.status_code == 503 and "max_concurrency 1" in busy.json()["error"]
    finally:
        hang.release()
    assert hang.response.json() == {"released": True}


def test_request_timeout_answers_504_frees_the_slot_and_is_counted(start):
    server, project = start(request_timeout=1.5, threads_per_process=2, max_concurrency=1)
    hang = Hang(server, project)
    try:
        hang.thread.join(CLIENT_TIMEOUT)
        assert hang.response.status_code == 504
        assert "request timeout of 1.5 s" in hang.response.json()["error"]
        with server.client() as client:
            assert client.post("/m", json={}).json() == {"ok": True}  # the slot is free, a thread too
            assert client.get("/healthz").status_code == 200  # one thread still serves: alive
        assert metric(server, "kserve_bridge_requests_total", code="504") == 1
        assert metric(server, "kserve_bridge_request_errors_total") == 1
    finally:
        hang.release()


def test_liveness_fails_once_every_predict_thread_is_stuck(start):
    server, project = start(request_timeout=1)
    hang = Hang(server, project, path="/v1/models/m:predict")
    try:
        hang.thread.join(CLIENT_TIMEOUT)
        assert hang.response.status_code == 504 and "error" in hang.response.json()
        # the one thread is still inside the predict: once it has been for request_timeout, liveness fails
        live = wait_for(lambda: (lambda r: r if r.status_code != 200 else None)(
            httpx.get(server.url + "/healthz", timeout=CLIENT_TIMEOUT)), "liveness to fail", CLIENT_TIMEOUT)
        assert live.status_code == 503 and "restart needed" in live.json()["error"]
    finally:
        hang.release()
    wait_for(lambda: httpx.get(server.url + "/healthz", timeout=CLIENT_TIMEOUT).status_code == 200,
             "liveness to recover once the predict returned", CLIENT_TIMEOUT)


def raw_request(server, head: bytes, body: bytes = b"", timeout: float = CLIENT_TIMEOUT) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.sendall(head + body)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < content_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body[:content_length(data)])


def content_length(data: bytes) -> int:
    found = re.search(rb"(?i)content-length: *(\d+)", data.split(b"\r\n\r\n", 1)[0])
    return int(found.group(1)) if found else 0


SLOW_HEAD = b"POST /m HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"


def test_slow_bodies_hold_no_concurrency_slot(start):
    server, _ = start(max_concurrency=1)
    slow = [raw_request(server, SLOW_HEAD, b"{") for _ in range(3)]  # one body byte of 100, then nothing
    try:
        with server.client() as client:
            for _ in range(3):
                assert client.post("/m", json={}).json() == {"ok": True}  # not 503
            assert metric(server, "kserve_bridge_requests_in_flight") == 0
    finally:
        for sock in slow:
            sock.close()


def test_a_stalled_body_times_out_with_408(start):
    server, _ = start(max_concurrency=1, request_timeout=2)
    slow = [raw_request(server, SLOW_HEAD, b"{") for _ in range(3)]
    try:
        for sock in slow:
            status, body = read_response(sock)
            assert status == 408 and "did not arrive within 2 s" in body["error"]
        assert httpx.post(server.url + "/m", json={}, timeout=CLIENT_TIMEOUT).json() == {"ok": True}
    finally:
        for sock in slow:
            sock.close()


def test_header_block_over_64_kib_gets_431(start):
    server, _ = start()
    big = b"x-filler: " + b"a" * (70 * 1024) + b"\r\n"
    sock = raw_request(server, b"POST /m HTTP/1.1\r\nhost: x\r\n" + big + b"content-length: 2\r\n\r\n{}")
    with sock:
        status, body = read_response(sock)
    assert status == 431 and "larger than 65536 bytes" in body["error"]
    endless = raw_request(server, b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: ")
    with endless:  # a header that never ends is cut off, not buffered forever
        for _ in range(8):
            try:
                endless.sendall(b"b" * 32 * 1024)
            except OSError:  # the server already answered and closed
                break
        status, body = read_response(endless)
    assert status == 431 and "error" in body
    fine = {"x-filler": "c" * (60 * 1024)}  # under the cap, and a large body: both still accepted
    with server.client() as client:
        assert client.post("/m", json={"pad": "d" * 4_000_000}, headers=fine).json() == {"ok": True}
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/m", "/v1/models/m:predict"])
def test_predictor_exit_and_unprintable_errors_are_json_500s(start, path):
    server, _ = start()
    with server.client() as client:
        for action, fragment in (("exit", "SystemExit"), ("unprintable", "UnprintableError")):
            answer = client.post(path, json={"do": action})
            assert answer.status_code == 500 and fragment in answer.json()["error"]
        assert client.post(path, json={}).status_code == 200  # still serving


def test_v2_client_errors_are_json_4xx(start):
    server, _ = start()
    with server.client() as client:
        bad = client.post("/v2/models/m/infer", json={"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
                                                                   "data": [1.0, 2.0, 3.0]}]})
        assert bad.status_code == 400 and "'x'" in bad.json()["error"]
        for version_path in ("/v2/models/m/versions/7/infer", "/v2/models/m/versions/7"):
            method = client.post if version_path.endswith("infer") else client.get
            answer = method(version_path, json={"inputs": []}) if method == client.post else method(version_path)
            assert answer.status_code == 404 and "no version '7'" in answer.json()["error"]
        assert client.get("/no/such/route").json() == {"error": "Not Found"}
        malformed = client.post("/v2/models/m/infer", json={"not": "inputs"})
        assert malformed.status_code == 422 and "inputs" in malformed.json()["error"]
        good = client.post("/v2/models/m/infer", json={"inputs": [{"name": "x", "shape": [1], "datatype": "FP32",
                                                                    "data": [1.0]}]})
        assert good.status_code == 200
