"""What modelserver/internals.py relies on in KServe and uvicorn exists in the installed versions.

An upgrade that moves any of it fails here, naming it, before any server test fails obscurely."""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from importlib import metadata

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelserver import internals, versions

from .conftest import REPO


@pytest.mark.parametrize("owner, name, why", internals.RELIED_ON,
                         ids=[f"{o.__name__}.{n}" for o, n, _ in internals.RELIED_ON])
def test_each_internal_we_rely_on_exists(owner, name, why):
    assert hasattr(owner, name), f"{owner.__module__}.{owner.__name__} has no {name!r} any more; we use it: {why}"


def test_the_signatures_we_call_and_override_are_unchanged():
    assert list(inspect.signature(uvicorn.Server.handle_exit).parameters) == ["self", "sig", "frame"]
    assert list(inspect.signature(uvicorn.Server.startup).parameters) == ["self", "sockets"]
    protocol_args = inspect.signature(HttpToolsProtocol.__init__).parameters
    assert {"config", "server_state", "app_state"} <= set(protocol_args)
    config = internals.http_config(None, "127.0.0.1", 0, access_log=False)
    config.load()
    assert config.http_protocol_class is internals.CappedHttpToolsProtocol
    server = uvicorn.Server(config)
    assert hasattr(server, "server_state") and hasattr(server.server_state, "connections")
    assert server.should_exit is False and server.started is False


def test_the_request_head_state_the_cap_reads_is_set_by_uvicorn():
    """CappedHttpToolsProtocol reads `url` and `headers` that uvicorn's parser callbacks fill in."""
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.url", "self.headers", "self.transport", "self.logger"):
        assert attribute in source, f"uvicorn's HttpToolsProtocol no longer sets {attribute}"
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE
    assert STATUS_LINE[431].startswith(b"HTTP/1.1 431")


def test_installed_versions_are_the_supported_ones():
    assert versions.check_versions() is None, versions.check_versions()


def test_an_unsupported_version_is_a_clear_message(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda name: "0.99.0" if name == "uvicorn" else real(name))
    message = versions.check_versions()
    assert message is not None and "uvicorn 0.99.0 is installed; this server supports uvicorn" in message
    assert "kserve" not in message.split(";")[0] and "install kserve-bridge[server]" in message


def test_the_server_refuses_to_start_on_an_unsupported_version_before_importing_it(tmp_path):
    """`python -m modelserver` with uvicorn reported as 0.99.0: exit 1, the message, kserve never imported."""
    project = tmp_path / "api"
    project.mkdir()
    (project / "cortex.yaml").write_text("- name: api\n  kind: RealtimeAPI\n  predictor:\n    type: python\n"
                                         "    path: predictor.py\n")
    (project / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n"
                                          "        return payload\n")
    code = ("import sys, importlib.metadata as m\n"
            "real = m.version\n"
            "m.version = lambda name: '0.99.0' if name == 'uvicorn' else real(name)\n"
            "from modelserver.__main__ import main\n"
            f"code = main(['--model_dir', {str(project)!r}, '--http_port', '0'])\n"
            "print('imported kserve:', 'kserve' in sys.modules, 'uvicorn' in sys.modules)\n"
            "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "KSERVE_BRIDGE_SKIP_DEPS": "1"})
    assert done.returncode == 1, done.stderr
    assert "uvicorn 0.99.0 is installed; this server supports uvicorn" in done.stderr and ">=0.55" in done.stderr
    assert "Traceback" not in done.stderr and "imported kserve: False False" in done.stdout


def test_kserve_app_serves_its_routes_ours_first_and_no_timing_middleware():
    from fastapi import FastAPI
    from kserve.model_repository import ModelRepository
    from starlette.testclient import TestClient
    from timing_asgi import TimingMiddleware

    async def ours_handler():
        return {"ours": True}

    def ours(app: FastAPI) -> None:
        app.add_api_route("/metrics", ours_handler, methods=["GET"])
    app = internals.kserve_app(ModelRepository(), ours)
    assert not [m for m in app.user_middleware if m.cls is TimingMiddleware]
    with TestClient(app) as client:
        assert client.get("/metrics").json() == {"ours": True}  # KServe's /metrics comes after ours
        assert client.get("/v2/health/live").json() == {"live": True}  # KServe's routes are there
        assert client.get("/v1/models/nothing").status_code == 404
