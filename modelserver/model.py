"""`PredictorModel`: a Cortex predictor as a `kserve.Model`.

KServe's v1 route hands `predict` the request body dict; the predictor sees
`payload` = that dict (e.g. {"instances": [...]}) and a non-dict result is
wrapped as {"predictions": result}. v2 requests (modelserver/v2_infer.py) give the
predictor `payload` = {input name: numpy array}; it returns an array (one output
"output-0"), a dict {name: array}, or an InferResponse (modelserver/v2_outputs.py).
A starlette Response it returns is the answer on every route, status and body kept.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, NoReturn

from kserve import InferRequest, InferResponse, Model
from kserve.errors import InferenceError, InvalidInput
from starlette.responses import Response

from kserve_bridge.contract import PREDICTOR_KINDS, ServerSettings
from kserve_bridge.errors import ModelInputError, PredictorError

from . import metrics, tracing, v2_infer
from .backends import pytorch
from .batching import Batcher
from .clients import PythonClient, TensorClient
from .drift import DriftMeter
from .errors import NotReady, PredictorAnswered, PredictTimeout, ServerError, describe
from .in_flight import InFlight
from .predict_threads import PredictThreads, expire
from .predictor import asks_for_client, bind, instantiate, load_predictor_class
from .project import prepare_project
from .repository import ModelRepository

log = logging.getLogger("modelserver")


class PredictorModel(Model):
    ready: bool  # kserve.Model sets it, unannotated
    def __init__(self, name: str, settings: ServerSettings, project_dir: Path, requests: InFlight | None = None):
        super().__init__(name)
        self.settings, self.project_dir = settings, Path(project_dir).resolve()
        self.predictor: Any = None
        self.repository: ModelRepository | None = None
        self.load_error: str | None = None
        self.batcher: Batcher | None = None
        self.client: PythonClient | None = None
        self.torch_threads: int | None = None
        self.call_predict: Any = None
        self.call_post_predict: Any = None
        self.drift = DriftMeter(name, settings.drift) if settings.drift else None  # kserve.monitoring.drift
        threads = settings.threads_per_process  # per process: processes_per_replica are real processes
        if PREDICTOR_KINDS[settings.predictor_type].tensor_client and settings.max_batch_size:
            threads = max(threads, settings.max_batch_size + 1)  # batched client calls block a thread each
        self.workers = PredictThreads(threads)  # user code never runs on the event loop
        self.threads = threads
        # this API's requests (arriving ones may still join a batch: the batchers read them)
        self.requests = requests or InFlight(name, settings.max_concurrency)
        metrics.READY.labels(name).set(0)

    def load(self) -> bool:
        """Load the project, its predictor and its models. Never raises: a failure leaves ready False."""
        if self.ready or self.load_error:
            return self.ready
        started = time.monotonic()
        try:
            self._load()
        except Exception as exc:
            where = failure_location(exc, self.project_dir)
            self.load_error = f"{where + ': ' if where else ''}{type(exc).__name__}: {exc}"
            log.exception("API %s failed to load: %s", self.name, self.load_error)
            return False
        self.torch_threads = pytorch.thread_count()  # what the predictor's __init__ set, if it uses torch
        self.ready = True
        metrics.MODEL_LOAD.labels(self.name).set(time.monotonic() - started)
        metrics.READY.labels(self.name).set(1)
        log.info("API %s ready in %.2fs", self.name, time.monotonic() - started)
        return True

    def _load(self) -> None:
        s = self.settings
        prepare_project(self.project_dir, s)
        cls = load_predictor_class(self.project_dir / s.predictor_path, s.predictor_type)
        self.repository = ModelRepository(s, self.project_dir, self._model_loader(cls))
        if PREDICTOR_KINDS[s.predictor_type].tensor_client:
            # Only requests holding a predict thread can join a client batch.
            client: PythonClient = TensorClient(self.repository, s.max_batch_size, s.batch_interval, api=self.name,
                                                in_flight=lambda: min(self.requests.arriving, self.threads))
        else:
            client = PythonClient(self.repository)
        self.client = client
        if PREDICTOR_KINDS[s.predictor_type].needs_models and not self.repository.sources \
                and asks_for_client(cls, s.predictor_type):
            raise PredictorError(f"{cls.__name__}.__init__ asks for {s.predictor_type}_client, but the spec sets no "
                                 f"predictor.models")
        self.predictor = instantiate(cls, s.config, client, s.predictor_type)
        self.repository.preload()
        self.call_predict = bind(self.predictor.predict, "payload", "query_params", "headers")
        hook = getattr(self.predictor, "post_predict", None)
        if hook is not None:
            self.call_post_predict = bind(hook, "response", "payload", "query_params", "headers")
        if s.max_batch_size and not PREDICTOR_KINDS[s.predictor_type].tensor_client:
            self.batcher = Batcher(self._predict_batch, s.max_batch_size, s.batch_interval or 0.0, self.name,
                                   in_flight=lambda: self.requests.arriving)

    def check_ready(self) -> None:
        """NotReady (503) while the API loads or after it failed to: every route's one message."""
        if not self.ready:
            raise NotReady(f"API {self.name} is not ready: {self.load_error or 'loading'}")

    def stop(self) -> None:
        """KServe's teardown hook (its ModelRepository.unload calls it): not ready. Our server calls it
        through `close`, once it has drained (a SIGTERM makes /readyz fail at once through
        readiness.Readiness, while predicts are still answered)."""
        super().stop()
        metrics.READY.labels(self.name).set(0)

    def close(self, timeout: float | None = None) -> None:
        """After serving: stop, run what is queued, end the batchers and predict threads (each waited
        for up to `timeout`: a predict stuck for good cannot be interrupted, its thread is a daemon)."""
        self.stop()
        if self.batcher is not None:
            self.batcher.close(timeout)
        if self.client is not None:
            self.client.close(timeout)
        self.workers.close(timeout)

    def _model_loader(self, cls: type):
        kind = self.settings.predictor_type
        if callable(getattr(cls, "load_model", None)):
            return lambda path, signature_key: self.predictor.load_model(model_path=str(path))
        if PREDICTOR_KINDS[kind].backend is None:
            def missing(path: Path, signature_key: str | None) -> Any:
                raise RuntimeError(f"{cls.__name__} must define load_model(self, model_path) to use python_client")
            return missing
        from .backends import backend
        return backend(kind).load

    def _predict_batch(self, items: list[tuple[Any, dict, dict]]) -> list[Any]:
        pytorch.follow_threads(self.torch_threads)
        payloads, queries, headers = (list(column) for column in zip(*items, strict=False))
        return self.call_predict(payload=payloads, query_params=queries, headers=headers)

    def _run_predict(self, payload: Any, query_params: dict, headers: dict) -> Any:
        pytorch.follow_threads(self.torch_threads)
        return self.call_predict(payload=payload, query_params=query_params, headers=headers)

    async def infer(self, payload: Any, query_params: dict, headers: dict) -> Any:
        """Run the user's predict in a predict thread (batched when configured); after the API's
        request_timeout the caller gets PredictTimeout (504) and the thread's result is dropped."""
        with tracing.stage("predict") as span:
            if self.batcher is not None:
                future = self.batcher.enqueue((payload, query_params, headers), traced=span is not None)
            else:
                future = self.workers.run(self._run_predict, payload, query_params, headers)
            timer = future.get_loop().call_later(self.settings.request_timeout, self._expire, future)
            try:
                result = await future
            finally:
                timer.cancel()
                if span is not None and self.batcher is not None:
                    self.batcher.describe(future, span)
        if self.drift is not None:
            self.drift.observe(payload, result)
        return result

    def _expire(self, future: asyncio.Future) -> None:
        if not future.done():
            log.warning("API %s: a predict outlived the request timeout (%g s); answering 504", self.name,
                        self.settings.request_timeout)
        expire(future, PredictTimeout(f"API {self.name}: predict did not finish within the request timeout of "
                                      f"{self.settings.request_timeout:g} s"))

    def stuck(self) -> str | None:
        """Why the liveness probe should fail: every predict thread is inside a call that outlived the
        request timeout (a predictor stuck for good; only a restart frees the threads), else None."""
        seconds = self.workers.stuck_for()
        if self.batcher is not None and self.batcher.busy_since is not None:  # one batch thread
            seconds = max(seconds, time.monotonic() - self.batcher.busy_since)
        if seconds <= self.settings.request_timeout:
            return None
        return (f"every predict thread has been inside one predict for {seconds:.0f} s, longer than the "
                f"request timeout of {self.settings.request_timeout:g} s")

    def post_predict(self, response: Any, payload: Any, query_params: dict, headers: dict) -> None:
        """Run the user's post_predict, if any, in the background; errors are only logged."""
        hook = self.call_post_predict
        if hook is None:
            return

        def run() -> None:
            try:
                hook(response=response, payload=payload, query_params=query_params, headers=headers)
            except Exception:
                log.exception("post_predict failed")
        self.workers.submit(run)

    async def predict(self, payload: dict | InferRequest, headers: dict | None = None,
                      response_headers: dict | None = None, query: dict | None = None) -> dict | InferResponse:
        """KServe's v1/v2 entry point (`query`: what the predictor's query_params get, e.g. a model's
        name); our errors keep their status (modelserver/errors.py), any other predictor failure
        becomes KServe's InferenceError (500)."""
        try:
            return await self._predict(payload, dict(headers or {}), dict(query or {}))
        except Exception as exc:
            self.raise_failure(exc)

    def raise_failure(self, exc: Exception) -> NoReturn:
        """Raise what a predict's exception answers (called in its `except`): our errors and KServe's as
        they are, a model client's input error 400, any other the predictor's failure (KServe's
        InferenceError, 500, logged). An unhandled exception would be re-raised by Starlette's outermost
        middleware after the 500 and drop the keep-alive connection; KServe's handler answers cleanly."""
        if isinstance(exc, (ServerError, InferenceError)):
            raise exc
        if isinstance(exc, ModelInputError):
            raise InvalidInput(str(exc)) from exc
        log.exception("predict failed for API %s", self.name)
        raise InferenceError(describe(exc)) from exc

    async def _predict(self, payload: dict | InferRequest, headers: dict, query: dict) -> dict | InferResponse:
        if isinstance(payload, InferRequest):
            return await v2_infer.infer(self, payload, headers, query)
        result = await self.infer(payload, query, headers)
        self.post_predict(result, payload, query, headers)
        if isinstance(result, Response):  # the predictor's own answer, status and body kept
            raise PredictorAnswered(result)
        return result if isinstance(result, dict) else {"predictions": result}

    def metadata(self) -> dict:
        """What GET /predict reports about the models."""
        data: dict[str, Any] = {"api": self.name, "predictor_type": self.settings.predictor_type,
                                "ready": self.ready}
        if self.load_error:
            data["error"] = self.load_error
        if self.repository is not None and self.repository.sources:
            data["models"] = self.repository.describe()
        return data


def failure_location(exc: BaseException, project_dir: Path) -> str | None:
    """`file:line` of the deepest frame in the project's own files (the predictor) where `exc`, or the
    exception it wraps, was raised; a SyntaxError's own position."""
    root = str(project_dir.resolve())
    found = None
    for error in (exc, exc.__cause__, exc.__context__):
        if error is None:
            continue
        if isinstance(error, SyntaxError) and error.filename and error.filename.startswith(root):
            return f"{Path(error.filename).relative_to(root)}:{error.lineno}"
        tb = error.__traceback__
        while tb is not None:
            file = tb.tb_frame.f_code.co_filename
            if file.startswith(root + "/"):
                found = f"{Path(file).relative_to(root)}:{tb.tb_lineno}"
            tb = tb.tb_next
        if found:
            return found
    return None
