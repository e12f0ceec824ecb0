"""modelserver/deferred.py: the modules serving never uses are not imported with kserve, and still work,
imported then, for code that does use them (in a fresh interpreter each: stand-ins go into sys.modules)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from modelserver.deferred import FUNCTIONS, SUBMODULES

from .conftest import REPO, make_project, python_api

PRELUDE = """
import sys
from modelserver.deferred import Deferred, defer_unused
installed = defer_unused()
import kserve, modelserver.server
"""


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_server_stack_imports_without_them():
    out = run("""
        unloaded = sorted(n for n, m in sys.modules.items() if isinstance(m, Deferred) and m._real is None)
        print(unloaded == sorted(installed), sorted(installed))
        print(any(n.startswith(("kubernetes.", "requests.", "rich", "pygments")) and not isinstance(m, Deferred)
                  for n, m in sys.modules.items()))
    """)
    assert out.split("\n")[:2] == [f"True {sorted(_all_names())}", "False"], out


def test_kserves_kubernetes_client_works_when_used():
    out = run("""
        from importlib import metadata
        from kserve.api import kserve_client, watch
        client = kserve_client.client  # what KServe took with `from kubernetes import client, config`
        pod = client.V1Pod(metadata=client.V1ObjectMeta(name="p"))
        import kubernetes, kubernetes.dynamic
        print(pod.metadata.name, kubernetes.__version__ == metadata.version("kubernetes"))
        print(client.CoreV1Api is kubernetes.client.CoreV1Api, kserve_client.config.load_kube_config
              is kubernetes.config.load_kube_config, watch.k8s_watch.Watch is kubernetes.watch.Watch)
        print(type(sys.modules["kubernetes"]).__name__, hasattr(kubernetes.dynamic, "DynamicClient"))
        print(kserve.KServeClient.__module__, defer_unused())
    """)
    assert out.split("\n")[:4] == ["p True", "True True True", "module True", "kserve.api.kserve_client []"], out


def test_requests_makes_a_real_call_through_the_stand_in():
    out = run("""
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer
        class Hello(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b"hello")
            def log_message(self, *args): pass
        httpd = HTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        from kserve.api import kserve_client
        reply = kserve_client.requests.get(f"http://127.0.0.1:{httpd.server_port}/", timeout=30)
        import requests.adapters
        print(reply.status_code, reply.text, isinstance(reply, requests.Response))
        from kserve import configuration  # the SDK's urllib3, a stand-in until now
        pool = configuration.urllib3.PoolManager()
        print(pool.request("GET", f"http://127.0.0.1:{httpd.server_port}/").data.decode())
        httpd.shutdown()
        from kserve.api.watch import tabulate  # a forwarder to tabulate.tabulate
        print(tabulate([["a", 1]], headers=["k", "v"], tablefmt="plain").split())
    """).split("\n")
    assert out[:3] == ["200 hello True", "hello", "['k', 'v', 'a', '1']"], out


def test_httpx_command_line_runs_when_called():
    out = run("""
        import httpx
        print(httpx.main.__doc__, type(sys.modules["httpx._main"]).__name__)
        try:
            httpx.main(["--help"])  # the real command line (click), imported now
        except SystemExit as exc:
            print("exit", exc.code)
        print(type(sys.modules["httpx._main"]).__name__, "rich" in sys.modules)
    """).split("\n")
    assert out[0] == "httpx._main.main, imported at its first call (modelserver/deferred.py) Deferred", out
    assert any("Usage: httpx" in line for line in out), out
    assert out[-3:-1] == ["exit 0", "module True"], out


def test_nothing_is_deferred_once_kserve_is_imported():
    done = subprocess.run([sys.executable, "-c", "import sys, kserve\nfrom modelserver.deferred import defer_unused\n"
                           "print(defer_unused(), type(sys.modules['kubernetes']).__name__)"],
                          capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO)}, timeout=300)
    assert done.stdout.split("\n")[0] == "[] module", done.stderr[-3000:]


def test_a_predictor_using_the_kubernetes_client_is_served(tmp_path, serve):
    """The pod path defers them (python -m modelserver); a predictor that imports them gets the real ones."""
    project = make_project(tmp_path / "p", python_api(), """
        import kubernetes
        from kubernetes import client

        class PythonPredictor:
            def __init__(self, config):
                self.meta = client.V1ObjectMeta(name="from-init")

            def predict(self, payload):
                return {"name": self.meta.name, "version": kubernetes.__version__,
                        "api": client.CoreV1Api.__name__}
    """)
    server = serve(project)
    with server.client() as http:
        reply = http.post("/m", json={})
    from importlib import metadata
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"name": "from-init", "version": metadata.version("kubernetes"), "api": "CoreV1Api"}


def _all_names() -> list[str]:
    return [*SUBMODULES, *FUNCTIONS, *(f"{top}.{sub}" for top, subs in SUBMODULES.items() for sub in subs)]
