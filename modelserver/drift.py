"""Feature drift (kserve.monitoring.drift): count each answered request's feature values per bin.

The bins and the reference share of each come in the settings (kserve_bridge/drift.py computed them
from the reference data); PromQL compares the two (manifests/monitoring: PSI per feature). Every
series is created at start, so the cardinality is the spec's and a bin's first value has a rate.
Counting is a list increment per value (a prometheus_client Counter.inc takes a lock: several times
slower); the counts reach the counters before each scrape of this process and at least every second
(the other processes of a replica, whose /metrics one of them answers).
Features are read from the request as the predictor got it: a Cortex JSON object (top-level keys),
v1 `instances`/`inputs` rows (objects by key, lists by the reference column's position) or v2 inputs
(by name, else that column of a 2-D input); `prediction` from the answer.
"""
from __future__ import annotations

import asyncio
from bisect import bisect_left
from typing import Any

from kserve_bridge.contract import PREDICTION_FEATURE, DriftFeature

from . import metrics

FLUSH_S = 1.0


class DriftMeter:
    def __init__(self, api: str, features: list[DriftFeature]):
        self.pending = {f.name: [0] * len(f.bins) for f in features}
        # The hot path reads plain tuples: (name, column, edges or None, bin_of, counts)
        self.inputs = [(f.name, f.column, f.edges, f.bin_of, self.pending[f.name])
                       for f in features if f.name != PREDICTION_FEATURE]
        self.last_column = max((f.column for f in features if f.name != PREDICTION_FEATURE), default=0)
        self.prediction = next((f for f in features if f.name == PREDICTION_FEATURE), None)
        self.counters = {f.name: [metrics.FEATURE_OBSERVATIONS.labels(api, f.name, b) for b in f.bins]
                         for f in features}
        self.timer: asyncio.TimerHandle | None = None
        for f in features:
            for label, share in zip(f.bins, f.reference, strict=True):
                metrics.FEATURE_REFERENCE.labels(api, f.name, label).set(share)
        metrics.BEFORE_SCRAPE.append(self.flush)

    def observe(self, payload: Any, answer: Any) -> None:
        """One answered request: its features and its prediction (on the event loop)."""
        rows = request_rows(payload)
        if rows is None:  # v2: {input name: array}
            for name, column, _, bin_of, counts in self.inputs:
                for value in tensor_values(payload, name, column):
                    counts[bin_of(value)] += 1
        else:
            for row in rows:
                self.count_row(row)
        if self.prediction is not None:
            counts = self.pending[PREDICTION_FEATURE]
            for value in predictions(answer, self.prediction.key):
                counts[self.prediction.bin_of(value)] += 1
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def count_row(self, row: Any) -> None:
        """Bin each feature of one row (an object by name, a list by column); the hot path."""
        by_column = type(row) is list or type(row) is tuple
        if by_column and len(row) <= self.last_column:
            row = [*row, *[None] * (self.last_column + 1 - len(row))]  # short: the columns it lacks are missing
        elif not by_column and type(row) is not dict:
            row = {}  # a scalar where a row should be: every feature missing
        for name, column, edges, bin_of, counts in self.inputs:
            value = row[column] if by_column else row.get(name)
            kind = value.__class__
            if edges is not None and (kind is float or kind is int) and value == value:
                counts[bisect_left(edges, value)] += 1
            else:
                counts[bin_of(value)] += 1

    def flush(self) -> None:
        """Add the pending counts to the Prometheus counters."""
        self.timer = None
        for name, counts in self.pending.items():
            for i, count in enumerate(counts):
                if count:
                    counts[i] = 0  # no await in between: no count is lost or added twice
                    self.counters[name][i].inc(count)


def request_rows(payload: Any) -> list | None:
    """The rows of one request: v1 instances/inputs, a Cortex JSON object as one row, a list of rows;
    None for v2 inputs (arrays by name)."""
    if type(payload) is dict:
        rows = payload.get("instances")
        if rows is None:
            rows = payload.get("inputs")
        if type(rows) is list:
            return rows
        if payload and hasattr(next(iter(payload.values())), "ndim"):
            return None
        return [payload]
    return payload if type(payload) is list else [None]


def tensor_values(inputs: dict, name: str, column: int) -> list[Any]:
    """A feature of v2 inputs: the input of that name, else that column of the first 2-D input."""
    array = inputs.get(name)
    if array is not None:
        return array.ravel().tolist()
    matrix = next((a for a in inputs.values() if a.ndim == 2), None)
    if matrix is None or column >= matrix.shape[1]:
        return [None]
    return matrix[:, column].tolist()


def predictions(answer: Any, key: str | None) -> list[Any]:
    """The predicted values in one answer: `key` of an object, each element of a list (or v1's
    predictions), every value of an array (the first v2 output, or the one named `key`)."""
    if isinstance(answer, dict):
        if key is not None and key in answer:
            answer = answer[key]
        elif "predictions" in answer:
            answer = answer["predictions"]
        elif answer and hasattr(next(iter(answer.values())), "ravel"):
            answer = next(iter(answer.values()))
        else:
            return [None]
    if hasattr(answer, "ravel"):
        return answer.ravel().tolist()
    if isinstance(answer, (list, tuple)):
        return [item.get(key) if isinstance(item, dict) and key else item for item in answer]
    return [answer]
