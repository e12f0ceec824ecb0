"""Fast in-process checks of the model server's parts (no HTTP)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from kserve_bridge.contract import SETTINGS_ENV, ServerSettings
from kserve_bridge.errors import PredictorError
from kserve_bridge.spec import load_spec
from modelserver.__main__ import parse_args, resolve_settings
from modelserver.batching import Batcher, stacked
from modelserver.predictor import call_with, check_signatures, load_predictor_class
from modelserver.repository import ModelNotFoundError, ModelRepository

from .conftest import FakeClock, make_project

SPEC = """
- name: api-a
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config: {k: 1}
    server_side_batching: {max_batch_size: 8, batch_interval: 250ms}
  networking: {endpoint: /custom}
- name: api-b
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
"""


def test_settings_from_env_win_over_cortex_yaml(tmp_path, monkeypatch):
    project = make_project(tmp_path / "p", SPEC, "class PythonPredictor:\n    def predict(self, payload): ...\n")
    from_yaml = resolve_settings(project, "api-a")
    assert (from_yaml.endpoint, from_yaml.max_batch_size, from_yaml.batch_interval) == ("/custom", 8, 0.25)
    with pytest.raises(Exception, match="pick one with --model_name"):
        resolve_settings(project, None)
    sent = ServerSettings.from_api(load_spec(project).get("api-b"), deployment_id="d-1")
    for key, value in sent.to_env().items():
        monkeypatch.setenv(key, value)
    received = resolve_settings(project, "api-a")  # the translator's env wins
    assert received == sent and received.deployment_id == "d-1"
    monkeypatch.delenv(SETTINGS_ENV)
    assert resolve_settings(project, "api-b").api_name == "api-b"


def test_cli_flags_and_defaults():
    args = parse_args(["--model_dir", "/x", "--model_name", "n", "--http_port", "9000"])
    assert (args.model_dir, args.model_name, args.http_port, args.host) == ("/x", "n", 9000, "0.0.0.0")
    assert args.max_payload_bytes == 32 * 1024 * 1024
    assert parse_args([]).model_dir == "/mnt/models"


@pytest.mark.parametrize("source, message", [
    ("class PythonPredictor:\n    def __init__(self, config, client): ...\n    def predict(self, payload): ...",
     "PythonPredictor.__init__(self, config, client): unknown argument(s) client; allowed: config, job_spec, "
     "python_client"),
    ("class PythonPredictor:\n    def predict(self, *args): ...", "*args is not supported"),
    ("class PythonPredictor:\n    def predict(self, payload): ...\n    def load_model(self): ...",
     "load_model(self): missing argument(s) model_path"),
    ("class PythonPredictor:\n    def predict(self, payload): ...\n    def post_predict(self, result): ...",
     "post_predict(self, result): unknown argument(s) result"),
    ("class PythonPredictor:\n    pass", "has no predict method"),
    ("X = 1", "found: none"),
])
def test_bad_predictor_signatures_are_quoted(tmp_path, source, message):
    (tmp_path / "predictor.py").write_text(source)
    with pytest.raises(PredictorError) as err:
        load_predictor_class(tmp_path / "predictor.py", "python")
    assert message in str(err.value)


def test_call_with_passes_only_declared_arguments():
    class PythonPredictor:
        def predict(self, payload, headers=None):
            return payload, headers

        def post_predict(self, **kwargs):
            return sorted(kwargs)

    P = PythonPredictor
    check_signatures(P)
    assert call_with(P().predict, payload=1, query_params={}, headers={"h": 1}) == (1, {"h": 1})
    assert call_with(P().post_predict, response=1, payload=2) == ["payload", "response"]


def test_repository_versions_lru_and_unknown(tmp_path):
    for folder in ("m/1", "m/3", "m/20", "n", "o/latest-ish"):
        (tmp_path / folder).mkdir(parents=True)
    settings = ServerSettings(api_name="x", predictor_type="python", predictor_path="p.py", endpoint="/x",
                              models=[{"name": "m", "path": "m"}, {"name": "n", "path": "n"},
                                      {"name": "o", "path": "o"}], cache_size=2)
    loads: list[Path] = []
    repo = ModelRepository(settings, tmp_path, lambda path, key: loads.append(path) or path.name)
    assert list(repo.versions("m")) == ["1", "3", "20"]
    assert repo.get("m") == "20" and repo.get("m", 3) == "3" and repo.get("m") == "20"
    assert repo.get("n") == "n" and repo.get("o") == "o"  # not all-numeric sub-folders: unversioned
    assert repo.get("m", "3") == "3"  # evicted by n and o
    assert [p.relative_to(tmp_path).as_posix() for p in loads] == ["m/20", "m/3", "n", "o", "m/3"]
    for name, version in [("zz", "latest"), ("m", "2"), (None, "latest")]:
        with pytest.raises(ModelNotFoundError):
            repo.get(name, version)


@pytest.mark.parametrize("cache_size, preloaded", [(None, ["m/20", "n"]), (2, [])])
def test_repository_preloads_latest_versions_unless_cached(tmp_path, cache_size, preloaded):
    for folder in ("m/1", "m/20", "n"):
        (tmp_path / folder).mkdir(parents=True)
    settings = ServerSettings(api_name="x", predictor_type="python", predictor_path="p.py", endpoint="/x",
                              models=[{"name": "m", "path": "m"}, {"name": "n", "path": "n"}],
                              cache_size=cache_size)
    loads: list[Path] = []
    repo = ModelRepository(settings, tmp_path, lambda path, key: loads.append(path) or path.name)
    repo.preload()  # as at startup, before the API is ready
    assert [p.relative_to(tmp_path).as_posix() for p in loads] == preloaded
    assert repo.get("m") == "20" and len(loads) == 1 + (cache_size is None)  # later requests reuse it


def test_batcher_groups_and_fails_whole_batch():
    calls: list[list] = []

    def handler(items):
        calls.append(items)
        if "bad" in items:
            raise ValueError("bad item")
        return [item * 2 for item in items]

    batcher = Batcher(handler, max_size=3, interval=0.5, clock=FakeClock())  # time stands still: full batches
    futures = [batcher.submit(i) for i in (1, 2, 3)]
    assert [f.result(60) for f in futures] == [2, 4, 6] and calls == [[1, 2, 3]]
    failing = [batcher.submit(x) for x in ("a", "bad", "c")]
    for future in failing:
        with pytest.raises(ValueError, match="bad item"):
            future.result(60)


def test_batcher_rejects_wrong_result_length():
    batcher = Batcher(lambda items: [1], max_size=2, interval=0.2, clock=FakeClock())
    futures = [batcher.submit(i) for i in range(2)]
    with pytest.raises(TypeError, match="a list of 2 results"):
        futures[0].result(60)


def test_stacked_splits_outputs_by_rows():
    seen = []

    def run(feeds):
        seen.append(feeds["x"].shape)
        return {"y": feeds["x"] * 10}

    out = stacked(run)([{"x": np.ones((1, 2))}, {"x": np.zeros((3, 2))}])
    assert seen == [(4, 2)]
    assert [o["y"].shape for o in out] == [(1, 2), (3, 2)] and out[0]["y"][0, 0] == 10


def test_concurrent_batches_from_threads():
    batcher = Batcher(lambda items: [len(items)] * len(items), max_size=8, interval=0.3, clock=FakeClock())
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(batcher.submit(0).result(60))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [8] * 8


THREAD_RECORDER = '''
import threading, time

class PythonPredictor:
    def predict(self, payload):
        time.sleep(payload.get("sleep", 0))
        return threading.current_thread().name
'''


@pytest.mark.parametrize("threads, sleeps", [(1, [0] * 200 + [0.05, 0]), (2, [0, 0, 0])])
def test_predicts_never_run_on_the_event_loop(tmp_path, threads, sleeps):
    """However fast and serial predicts are, the loop only waits for them (issue 13, item 1)."""
    import asyncio

    from modelserver.model import PredictorModel
    spec = f"- name: m\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n" \
           f"    threads_per_process: {threads}\n"
    project = make_project(tmp_path / "p", spec, THREAD_RECORDER)
    model = PredictorModel("m", resolve_settings(project, "m"), project)
    assert model.load()

    async def run() -> set[str]:
        return {(await model.infer({"sleep": s}, {}, {})).rstrip("-_0123456789") for s in sleeps}
    assert asyncio.run(run()) == {"predict"}
    model.close()


def test_batcher_run_groups_coroutines_and_survives_cancellation():
    import asyncio
    calls: list[list] = []

    def handler(items):
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("bad item")
        return [item * 2 for item in items]

    batcher = Batcher(handler, max_size=4, interval=0.3, clock=FakeClock())  # time stands still: full batches

    async def scenario():
        assert await asyncio.gather(*(batcher.run(i) for i in (1, 2, 3, 4))) == [2, 4, 6, 8]
        failing = await asyncio.gather(*(batcher.run(i) for i in ("bad", 5, 6, 7)), return_exceptions=True)
        assert [type(e) for e in failing] == [ValueError] * 4
        abandoned = batcher.enqueue("gone")  # what `await batcher.run("gone")` waits on
        abandoned.cancel()  # the client went away while its item waited for the batch
        return await asyncio.wait_for(asyncio.gather(*(batcher.run(i) for i in (8, 9, 10))), 60)
    assert asyncio.run(scenario()) == [16, 18, 20]
    assert calls[0] == [1, 2, 3, 4] and calls[1] == ["bad", 5, 6, 7] and calls[2] == ["gone", 8, 9, 10]


def test_batcher_close_runs_what_is_queued_then_ends_its_thread():
    calls: list[list] = []
    batcher = Batcher(lambda items: calls.append(list(items)) or items, max_size=8, interval=3600,
                      clock=FakeClock())  # time stands still: only a full batch or close() ends the wait
    futures = [batcher.submit(i) for i in range(3)]
    batcher.close(timeout=60)
    assert [f.result(0) for f in futures] == [0, 1, 2] and calls == [[0, 1, 2]]
    assert not batcher.thread.is_alive()


def test_predictor_model_stop_leaves_rotation_and_close_ends_its_threads(tmp_path):
    """stop(): KServe's hook on SIGTERM, out of rotation while requests drain; close(): after serving."""
    import asyncio

    from prometheus_client import REGISTRY

    from modelserver.model import PredictorModel
    spec = "- name: m\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n" \
           "    threads_per_process: 2\n    server_side_batching: {max_batch_size: 2, batch_interval: 1h}\n"
    project = make_project(tmp_path / "p", spec, "class PythonPredictor:\n    def __init__(self, config): ...\n"
                           "    def predict(self, payload):\n        return [p['x'] * 2 for p in payload]\n")
    model = PredictorModel("m", resolve_settings(project, "m"), project)
    assert model.load() and model.batcher is not None

    def ready() -> float | None:
        return REGISTRY.get_sample_value("kserve_bridge_api_ready", {"api": "m"})

    async def two() -> list:
        return await asyncio.gather(model.infer({"x": 1}, {}, {}), model.infer({"x": 2}, {}, {}))
    assert asyncio.run(two()) == [2, 4] and ready() == 1
    model.stop()
    assert model.ready is False and ready() == 0
    assert asyncio.run(two()) == [2, 4]  # a stopped model still answers what the server drains
    model.close(timeout=60)
    assert not model.batcher.thread.is_alive()
    assert not any(thread.is_alive() for thread in model.workers.threads)


def test_batcher_reports_a_running_batch_for_liveness():
    entered, release = threading.Event(), threading.Event()
    batcher = Batcher(lambda items: [entered.set() or release.wait()] * len(items), max_size=1, interval=0.0,
                      clock=FakeClock(now=42.0))
    future = batcher.submit("x")
    assert entered.wait(60)  # the handler runs
    assert batcher.busy_since == 42.0  # the batcher's clock, when the batch began
    release.set()
    assert future.result(60) is True and batcher.busy_since is None  # cleared before results are handed out


def test_each_error_class_carries_its_status_and_every_answer_is_json():
    import orjson
    from kserve.errors import InferenceError, InvalidInput
    from starlette.exceptions import HTTPException

    from modelserver import errors

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("boom")

    cases = [(errors.BadRequest("bad"), 400), (errors.ModelNotFoundError("m"), 404), (errors.BodyTimeout("t"), 408),
             (errors.PayloadTooLarge("big"), 413), (errors.UnsupportedMediaType("xml"), 415),
             (errors.HeadersTooLarge("h"), 431), (errors.PredictorFailed("p"), 500), (errors.NotReady("n"), 503),
             (errors.Overloaded("o"), 503), (errors.PredictTimeout("slow"), 504), (InvalidInput("x"), 400),
             (InferenceError("y"), 500), (HTTPException(405, "Method Not Allowed"), 405), (Unprintable(), 500),
             (errors.as_exception(SystemExit(3)), 500)]
    for exc, status in cases:
        response = errors.to_response(exc)
        assert response.status_code == status, exc
        assert set(orjson.loads(response.body)) == {"error"}
    assert "Unprintable" in errors.describe(Unprintable())
    assert "SystemExit: 3" in str(errors.as_exception(SystemExit(3)))


def test_a_result_json_cannot_hold_is_the_predictors_failure_on_every_lane():
    from modelserver.errors import PredictorFailed, status_and_message
    from modelserver.payload import dump_json, make_response

    assert dump_json({"p": np.arange(2), "n": np.float32(0.5)}) == b'{"p":[0,1],"n":0.5}'
    for encode in (dump_json, make_response):  # the v1 lane, and the Cortex endpoint
        with pytest.raises(PredictorFailed, match="cannot encode the predictor's result") as raised:
            encode({"p": object()})
        assert status_and_message(raised.value)[0] == 500


def test_predict_threads_keep_user_code_off_the_loop_and_report_stuck_threads():
    import asyncio

    from modelserver.predict_threads import PredictThreads

    release = threading.Event()
    threads = PredictThreads(1, name="unit")

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        assert await threads.run(threading.get_ident) != loop_thread
        with pytest.raises(Exception, match="SystemExit"):
            await threads.run(sys.exit, 3)
        entered = threading.Event()
        blocked = threads.run(lambda: entered.set() or release.wait())
        assert entered.wait(60)  # the one thread is inside release.wait
        assert threads.stuck_for() >= 0.0
        release.set()
        assert await blocked is True
        assert threads.stuck_for() == 0.0

    asyncio.run(scenario())
    threads.close()
    assert not any(thread.is_alive() for thread in threads.threads)


SERIAL_CHECKER = '''
import threading, time

class PythonPredictor:
    def __init__(self, config):
        self.lock, self.inside, self.most = threading.Lock(), 0, 0

    def predict(self, payload):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(payload["sleep"])
        with self.lock:
            self.inside -= 1
        return self.most
'''


def test_one_predict_thread_means_one_predict_at_a_time(tmp_path):
    """Fast and slow predicts interleaved: never two predicts at once."""
    import asyncio

    from modelserver.model import PredictorModel
    spec = "- name: m\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n"
    project = make_project(tmp_path / "p", spec, SERIAL_CHECKER)
    model = PredictorModel("m", resolve_settings(project, "m"), project)
    assert model.load()
    sleeps = [0.0, 0.0, 0.004, 0.0, 0.0005, 0.003, 0.0, 0.0] * 12

    async def run() -> list[int]:
        async def one(i: int, s: float) -> int:
            for _ in range(i % 3):  # arrivals staggered by turns of the event loop, not by time
                await asyncio.sleep(0)
            return await model.infer({"sleep": s}, {}, {})
        return await asyncio.gather(*(one(i, s) for i, s in enumerate(sleeps)))
    assert max(asyncio.run(run())) == 1
    model.close()


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "150000 100000\n"}, 2),  # cgroup v2, 1.5 CPUs -> 2 threads
    ({"cpu.max": "max 100000\n"}, None),  # no limit: the affinity
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),  # no cgroup files (not in a container)
])
def test_cpu_budget_follows_the_container_limit(tmp_path, files, expected):
    import os

    from modelserver.backends import cpu_budget
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    cores = len(os.sched_getaffinity(0))
    assert cpu_budget(tmp_path) == (cores if expected is None else min(cores, expected))


def test_single_model_ignores_model_name_as_cortex(tmp_path):
    (tmp_path / "m" / "2").mkdir(parents=True)
    settings = ServerSettings(api_name="x", predictor_type="python", predictor_path="p.py", endpoint="/x",
                              models=[{"name": "x", "path": "m"}], single_model=True)
    repo = ModelRepository(settings, tmp_path, lambda path, key: path.name)
    assert repo.get("whatever") == repo.get() == "2"
    with pytest.raises(ModelNotFoundError, match="no version '7'"):
        repo.get("whatever", "7")


def test_local_serve_takes_the_request_timeout_from_cortex_yaml(tmp_path):
    spec = ("- name: m\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n"
            "  kserve:\n    request_timeout: 7\n")
    project = make_project(tmp_path / "p", spec, "class PythonPredictor:\n    def predict(self, payload):\n"
                                                 "        return 1\n")
    assert resolve_settings(project, "m").request_timeout == 7.0
