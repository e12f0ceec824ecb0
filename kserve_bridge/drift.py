"""kserve.monitoring.drift: reference data (CSV or Parquet in the project) -> each feature's bins and the
reference share of each (contract.DriftFeature), computed by `validate`/`convert`, carried in the settings.

Numeric columns get quantile bins (edges are reference values, so labels stay short); strings, the
prediction and numeric columns with at most `bins` distinct values get one bin per category (the most
frequent `bins`, then OTHER_BIN). Every feature ends with MISSING_BIN: absent, empty, null or NaN values
(and, for numbers, values that are not numbers). Only csv and, when installed, pyarrow are imported.
"""
from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path
from typing import Any

from .contract import MISSING_BIN, OTHER_BIN, PREDICTION_FEATURE, DriftFeature, as_number, category

PARQUET = (".parquet", ".pq")
MAX_REFERENCE_BYTES = 1 << 30


class DriftReferenceError(ValueError):
    """The reference file cannot give bins for the spec's features; the message says why."""


def drift_features(drift: Any, project_dir: Path) -> list[DriftFeature]:
    """`drift`: the spec's kserve.monitoring.drift (reference, features, bins)."""
    path = (Path(project_dir) / drift.reference).resolve()
    columns, data = read_reference(path, drift.features)
    rows = len(next(iter(data.values()))) if data else 0
    if rows == 0:
        raise DriftReferenceError(f"{drift.reference} has no rows")
    out = [feature(name, columns.index(name), data[name], drift.bins) for name in drift.features]
    for item in out:
        if item.name == PREDICTION_FEATURE:
            item.key = drift.prediction_key
    return out


def read_reference(path: Path, wanted: list[str]) -> tuple[list[str], dict[str, list[Any]]]:
    """(every column name, {wanted column: values}); values are str/float/int/None."""
    if not path.is_file():
        raise DriftReferenceError(f"file not found: {path}")
    if path.stat().st_size > MAX_REFERENCE_BYTES:
        raise DriftReferenceError(f"{path.name} is larger than 1 GiB; sample it (a few thousand rows suffice)")
    if path.suffix.lower() in PARQUET:
        columns, data = _parquet(path, wanted)
    elif path.suffix.lower() == ".csv":
        columns, data = _csv(path, wanted)
    else:
        raise DriftReferenceError(f"{path.name}: the reference must be a .csv or .parquet file")
    absent = [name for name in wanted if name not in columns]
    if absent:
        raise DriftReferenceError(f"{path.name} has no column {', '.join(map(repr, absent))} (its columns: "
                                  f"{', '.join(columns) or 'none'})")
    return columns, data


def _csv(path: Path, wanted: list[str]) -> tuple[list[str], dict[str, list[Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            columns = next(reader, [])
            index = {name: columns.index(name) for name in wanted if name in columns}
            data: dict[str, list[Any]] = {name: [] for name in index}
            for line, row in enumerate(reader, start=2):
                if len(row) != len(columns):
                    raise DriftReferenceError(f"{path.name}:{line}: {len(row)} fields, the header has {len(columns)}")
                for name, i in index.items():
                    data[name].append(row[i] if row[i].strip() else None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DriftReferenceError(f"cannot read {path.name} as CSV: {exc}") from exc
    for name, values in data.items():  # a column of numbers (and blanks) is numeric
        numbers = [as_number(v) if v is not None else None for v in values]
        if all(n is not None for n, v in zip(numbers, values, strict=True) if v is not None):
            data[name] = numbers
    return columns, data


def _parquet(path: Path, wanted: list[str]) -> tuple[list[str], dict[str, list[Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DriftReferenceError(f"reading {path.name} needs pyarrow (pip install 'kserve-bridge[drift]'), "
                                  f"or give the reference as CSV") from None
    try:
        columns = list(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[name for name in wanted if name in columns])
    except Exception as exc:  # pyarrow's errors have no common base beyond ArrowException/OSError
        raise DriftReferenceError(f"cannot read {path.name} as Parquet: {exc}") from exc
    return columns, table.to_pydict()


def feature(name: str, column: int, values: list[Any], bins: int) -> DriftFeature:
    """The bins of one feature and the reference share of each."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    numeric = present and all(as_number(v) is not None for v in present)
    if numeric and name != PREDICTION_FEATURE and len(set(present)) > bins:
        ordered = sorted(float(v) for v in present)
        cuts = [ordered[math.ceil(len(ordered) * i / bins) - 1] for i in range(1, bins)]  # inverted-CDF quantiles
        edges = sorted(set(cuts) - {ordered[-1]})
        labels = [f"({category(lo)},{category(hi)}]" for lo, hi in zip([-math.inf, *edges], edges, strict=False)]
        labels.append(f"({category(edges[-1]) if edges else '-inf'},+inf)")
        out = DriftFeature(name=name, column=column, edges=edges, bins=[*labels, MISSING_BIN], reference=[])
    else:
        counts = Counter(category(v) for v in present)
        top = sorted(counts, key=lambda c: (-counts[c], c))[:bins]
        out = DriftFeature(name=name, column=column, categories=top, bins=[*top, OTHER_BIN, MISSING_BIN],
                           reference=[])
    shares = [0] * len(out.bins)
    for value in values:
        shares[out.bin_of(value)] += 1
    out.reference = [round(count / len(values), 6) for count in shares]
    return out
