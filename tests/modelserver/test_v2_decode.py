"""The v2 REST decoder and encoder on hostile input, in-process: whatever the body, the answer is one of
the server's errors (a 4xx naming the field, or a 5xx for what the predictor returned), never a
stray exception; and a binary round trip gives back the tensors."""
from __future__ import annotations

import struct

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from modelserver import v2_rest
from modelserver.errors import ServerError
from modelserver.v2_outputs import binary_bytes, select_outputs, tensor, to_infer_response

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.floats(allow_nan=False), st.text(max_size=4),
                    st.sampled_from(["FP32", "BYTES", "BOOL", "FP16", "INT8", "UINT64"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["binary_data_size", "binary_data", "name", "a"]), inner, max_size=2), max_leaves=8)
INPUT = st.dictionaries(st.sampled_from(["name", "shape", "datatype", "data", "parameters"]), VALUES, max_size=5)
REQUEST = st.fixed_dictionaries({}, optional={
    "inputs": st.one_of(st.lists(INPUT, max_size=3), VALUES), "outputs": VALUES,
    "parameters": st.one_of(st.just({"binary_data_output": True}), VALUES), "id": VALUES})


@settings(max_examples=400, deadline=None)
@given(request=REQUEST, tail=st.binary(max_size=24),
       header=st.one_of(st.none(), st.integers(-2, 400), st.text(max_size=3)))
def test_any_body_is_a_server_error_or_a_request(request, tail, header):
    head = orjson.dumps(request)
    headers = {} if header is None else {v2_rest.HEADER_LENGTH: str(len(head) if header == 0 else header)}
    try:
        decoded = v2_rest.decode(head + tail, headers, "m", None)
        arrays = [tensor(item) for item in decoded.inputs]
        v2_rest.encode(select_outputs(to_infer_response({"out": arrays[0]}, decoded, "m"), decoded), decoded)
    except ServerError as exc:
        assert 400 <= exc.status < 600 and str(exc)


def test_binary_round_trip_of_every_datatype():
    tensors = {"f": (np.array([[1.5, -2.0]], dtype=np.float32), "FP32"), "i": (np.array([7, -8]), "INT64"),
               "b": (np.array([True, False]), "BOOL"), "h": (np.array([0.5], dtype=np.float16), "FP16"),
               "s": (np.array(["añ", "b"], dtype=object), "BYTES")}
    raw = {name: binary_bytes(array, datatype) for name, (array, datatype) in tensors.items()}
    inputs = [{"name": name, "shape": list(array.shape), "datatype": datatype,
               "parameters": {"binary_data_size": len(raw[name])}} for name, (array, datatype) in tensors.items()]
    head = orjson.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}})
    request = v2_rest.decode(head + b"".join(raw.values()), {v2_rest.HEADER_LENGTH: str(len(head))}, "m", "1")
    got = {item.name: tensor(item) for item in request.inputs}
    assert got["s"].tolist() == ["añ".encode(), b"b"]
    assert struct.unpack("<I", raw["s"][:4])[0] == len("añ".encode())
    for name in "fibh":
        np.testing.assert_array_equal(got[name], tensors[name][0])
    body, headers = v2_rest.encode(to_infer_response(got, request, "m", model_version="1"), request)
    length = int(dict(headers)[v2_rest.HEADER_LENGTH.encode()])
    head_out = orjson.loads(body[:length])
    assert head_out["model_version"] == "1"
    assert [(o["datatype"], o["parameters"]["binary_data_size"]) for o in head_out["outputs"]] == \
        [(datatype, len(raw[name])) for name, (_, datatype) in tensors.items()]
    assert body[length:] == b"".join(raw.values())


def test_a_predictors_own_metadata_must_be_tensors():
    import pytest

    from modelserver.errors import PredictorFailed
    from modelserver.model_names import declared_tensors

    class Declares:
        v2_inputs = [{"name": "rows", "datatype": "FP64", "shape": [-1, 4], "extra": "dropped"}]

    assert declared_tensors(Declares()) == ([{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}], [])
    assert declared_tensors(object()) is None
    Declares.v2_outputs = [{"name": "label"}]
    with pytest.raises(PredictorFailed, match="v2_outputs must be a list"):
        declared_tensors(Declares())
