"""`PredictorModel`: a Cortex predictor as a `kserve.Model`.

KServe's v1 route hands `predict` the request body dict; the predictor sees
`payload` = that dict (e.g. {"instances": [...]}) and a non-dict result is
wrapped as {"predictions": result}. KServe's v2 route hands an InferRequest;
the predictor sees `payload` = {input name: numpy array} and returns an array
(one output "output-0"), a dict {name: array}, or an InferResponse.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model
from kserve.errors import InferenceError
from kserve.utils.utils import from_np_dtype

from kserve_bridge.contract import PREDICTOR_KINDS, ServerSettings

from .batching import Batcher
from .placement import Placement
from .clients import PythonClient, TensorClient
from .predictor import bind, instantiate, load_predictor_class
from .project import prepare_project
from .repository import ModelNotFoundError, ModelRepository

log = logging.getLogger("modelserver")
_predict_thread = threading.local()


def _follow_torch_threads(count: int | None) -> None:
    """Apply the load-time torch thread count in this predict thread: OpenMP keeps it per thread,
    so `torch.set_num_threads(n)` in the predictor's __init__ would not reach predict threads."""
    if count is not None and getattr(_predict_thread, "torch_threads", None) != count:
        sys.modules["torch"].set_num_threads(count)
        _predict_thread.torch_threads = count


class PredictorModel(Model):
    def __init__(self, name: str, settings: ServerSettings, project_dir: Path):
        super().__init__(name)
        self.settings, self.project_dir = settings, Path(project_dir).resolve()
        self.predictor: Any = None
        self.repository: ModelRepository | None = None
        self.load_error: str | None = None
        self.batcher: Batcher | None = None
        self.torch_threads: int | None = None
        self.call_predict: Any = None
        self.call_post_predict: Any = None
        threads = settings.threads_per_process * settings.processes_per_replica
        if PREDICTOR_KINDS[settings.predictor_type].tensor_client and settings.max_batch_size:
            threads = max(threads, settings.max_batch_size + 1)  # batched client calls block a thread each
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="predict")
        self.threads = threads
        self.placement = Placement(allowed=threads == 1 and not settings.max_batch_size)
        self.last_job: Future | None = None  # the newest predict handed to the (FIFO) predict thread
        self.in_flight = 0  # POST requests being served (kept by BridgeMiddleware); the batcher reads it

    def load(self) -> bool:
        """Load the project, its predictor and its models. Never raises: a failure leaves ready False."""
        if self.ready or self.load_error:
            return self.ready
        started = time.monotonic()
        try:
            self._load()
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("API %s failed to load; readiness stays false: %s", self.name, self.load_error)
            return False
        torch = sys.modules.get("torch")
        self.torch_threads = torch.get_num_threads() if torch is not None else None
        self.ready = True
        log.info("API %s ready in %.2fs", self.name, time.monotonic() - started)
        return True

    def _load(self) -> None:
        s = self.settings
        prepare_project(self.project_dir, s)
        cls = load_predictor_class(self.project_dir / s.predictor_path, s.predictor_type)
        self.repository = ModelRepository(s, self.project_dir, self._model_loader(cls))
        if PREDICTOR_KINDS[s.predictor_type].tensor_client:
            # Only requests holding a predict thread can join a client batch.
            client: PythonClient = TensorClient(self.repository, s.max_batch_size, s.batch_interval,
                                                in_flight=lambda: min(self.in_flight, self.threads))
        else:
            client = PythonClient(self.repository)
        self.predictor = instantiate(cls, s.config, client)
        self.repository.preload()
        self.call_predict = bind(self.predictor.predict, "payload", "query_params", "headers")
        hook = getattr(self.predictor, "post_predict", None)
        if hook is not None:
            self.call_post_predict = bind(hook, "response", "payload", "query_params", "headers")
        if s.max_batch_size and not PREDICTOR_KINDS[s.predictor_type].tensor_client:
            self.batcher = Batcher(self._predict_batch, s.max_batch_size, s.batch_interval or 0.0, self.name,
                                   in_flight=lambda: self.in_flight)

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
        _follow_torch_threads(self.torch_threads)
        payloads, queries, headers = (list(column) for column in zip(*items))
        return self.call_predict(payload=payloads, query_params=queries, headers=headers)

    def _run_predict(self, payload: Any, query_params: dict, headers: dict, inline: bool) -> Any:
        _follow_torch_threads(self.torch_threads)
        started = time.perf_counter()
        try:
            return self.call_predict(payload=payload, query_params=query_params, headers=headers)
        finally:
            self.placement.observe(time.perf_counter() - started, inline)

    async def infer(self, payload: Any, query_params: dict, headers: dict) -> Any:
        """Run the user's predict: batched when configured, else on the event loop or in a
        predict thread (modelserver/placement.py); predicts stay serial with one thread."""
        if self.batcher is not None:
            return await self.batcher.run((payload, query_params, headers))
        while self.placement.choose():
            if self.last_job is None or self.last_job.done():
                return self._run_predict(payload, query_params, headers, True)
            await asyncio.get_running_loop().run_in_executor(self.executor, _nothing)  # queued after it
        job = self.last_job = self.executor.submit(self._run_predict, payload, query_params, headers, False)
        return await asyncio.wrap_future(job)

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
        self.executor.submit(run)

    async def predict(self, payload: dict | InferRequest, headers: dict | None = None,
                      response_headers: dict | None = None) -> dict | InferResponse:
        """KServe's v1/v2 entry point; a predictor failure becomes KServe's InferenceError (500)."""
        try:
            return await self._predict(payload, dict(headers or {}))
        except (ModelNotFoundError, InferenceError):
            raise
        except Exception as exc:
            # An unhandled exception would be re-raised by Starlette's outermost middleware after the
            # 500 and drop the keep-alive connection; KServe's InferenceError handler answers cleanly.
            log.exception("predict failed for API %s", self.name)
            raise InferenceError(f"{type(exc).__name__}: {exc}") from exc

    async def _predict(self, payload: dict | InferRequest, headers: dict) -> dict | InferResponse:
        if isinstance(payload, InferRequest):
            inputs = {i.name: i.as_numpy() for i in payload.inputs}
            result = await self.infer(inputs, {}, headers)
            self.post_predict(result, inputs, {}, headers)
            return to_infer_response(result, payload, self.name)
        result = await self.infer(payload, {}, headers)
        self.post_predict(result, payload, {}, headers)
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


def _nothing() -> None:
    """Queued in the FIFO predict thread: done once everything submitted before it is."""


def to_infer_response(result: Any, request: InferRequest, model_name: str) -> InferResponse:
    if isinstance(result, InferResponse):
        return result
    named = result if isinstance(result, dict) else {"output-0": result}
    outputs = []
    for name, value in named.items():
        array = np.asarray(value)
        if array.dtype.kind in "UO":
            out = InferOutput(name, list(array.shape), "BYTES", [str(v) for v in array.ravel().tolist()])
        else:
            out = InferOutput(name, list(array.shape), from_np_dtype(array.dtype))
            out.set_data_from_numpy(array, binary_data=False)
        outputs.append(out)
    return InferResponse(response_id=request.id or "", model_name=model_name, infer_outputs=outputs)
