"""What the predictor's constructor receives: python_client, onnx_client, tensorflow_client."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .batching import Batcher, stacked
from .repository import ModelRepository


class PythonClient:
    """`get_model(model_name=None, model_version="latest")`: whatever load_model(path) returned."""

    def __init__(self, repository: ModelRepository):
        self.repository = repository

    def get_model(self, model_name: str | None = None, model_version: str | int = "latest") -> Any:
        return self.repository.get(model_name, model_version)

    def close(self, timeout: float | None = None) -> None:
        """End what the client runs in the background (nothing here; a TensorClient's batchers)."""


class TensorClient(PythonClient):
    """Cortex's onnx_client / tensorflow_client: `predict(model_input, model_name, model_version)`.

    With server-side batching, concurrent predict calls on the same model are
    stacked along axis 0, run once, and split back.
    """

    def __init__(self, repository: ModelRepository, max_batch_size: int | None = None,
                 batch_interval: float | None = None, in_flight: Callable[[], int] | None = None, api: str = ""):
        super().__init__(repository)
        self.api = api
        self.max_batch_size, self.batch_interval = max_batch_size, batch_interval or 0.0
        self.in_flight = in_flight
        self.batchers: dict[tuple[str | None, str], Batcher] = {}
        self.lock = threading.Lock()

    def predict(self, model_input: Any, model_name: str | None = None, model_version: str | int = "latest",
                *, numpy: bool = False) -> Any:
        """Cortex's predict; `numpy=True` asks a TensorFlow model for arrays instead of Cortex's flat lists."""
        model = self.get_model(model_name, model_version)
        feeds = model.prepare(model_input)
        outputs = model.run(feeds) if not self.max_batch_size else \
            self.batcher_for(model_name, model_version).submit(feeds).result()
        return model.format(outputs, numpy=numpy)

    def batcher_for(self, model_name: str | None, model_version: str | int) -> Batcher:
        """One batcher per requested (name, version); it looks the model up when a batch runs."""
        key = (model_name, str(model_version))
        with self.lock:
            if key not in self.batchers:
                def run(feeds, key=key):
                    return self.get_model(*key).run(feeds)
                self.batchers[key] = Batcher(stacked(run), self.max_batch_size or 1, self.batch_interval,
                                             f"{model_name or 'default'}-{model_version}", self.in_flight,
                                             api=self.api, model=model_name or "")
            return self.batchers[key]

    def close(self, timeout: float | None = None) -> None:
        """Run what each batcher has queued, then end its thread."""
        with self.lock:
            batchers = list(self.batchers.values())
        for batcher in batchers:
            batcher.close(timeout)
