"""ModelInfer's own decoding and encoding (modelserver/grpc_service.py): numeric raw contents straight
from the message, everything else through KServe's InferRequest; named outputs straight into the
response, only those the request names. The server around them: test_grpc.py."""
from __future__ import annotations

import numpy as np
import pytest
from kserve import InferOutput, InferResponse
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from modelserver.errors import BadRequest
from modelserver.grpc_service import decode, encode
from modelserver.model_names import Target

TARGET = Target("m", None, None)
Tensor = pb.ModelInferRequest.InferInputTensor


def raw_request(*inputs: tuple[str, str, list[int], bytes], outputs: tuple[str, ...] = ()) -> pb.ModelInferRequest:
    return pb.ModelInferRequest(
        model_name="m", id="req-1",
        inputs=[Tensor(name=name, datatype=datatype, shape=shape) for name, datatype, shape, _ in inputs],
        raw_input_contents=[data for *_, data in inputs],
        outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name=name) for name in outputs])


def test_numeric_raw_inputs_decode_as_little_endian_arrays_of_their_shape():
    x = np.arange(6, dtype="<f4").reshape(2, 3)
    flags = np.array([True, False])
    inputs = decode(raw_request(("x", "FP32", [2, 3], x.tobytes()), ("flags", "BOOL", [2], flags.tobytes())))
    assert inputs["x"].dtype == np.float32 and inputs["x"].shape == (2, 3)
    np.testing.assert_array_equal(inputs["x"], x)
    np.testing.assert_array_equal(inputs["flags"], flags)


@pytest.mark.parametrize("data", [b"\0" * 20, b"\0" * 22])  # 5 floats for 6; not a whole number of floats
def test_raw_contents_that_do_not_fit_the_shape_are_the_clients_error_naming_the_input(data):
    with pytest.raises(BadRequest, match=r"input 'x' \(shape \[2, 3\], datatype FP32\)"):
        decode(raw_request(("x", "FP32", [2, 3], data)))


def test_bytes_and_typed_contents_decode_through_kserve():
    text = b"\x05\x00\x00\x00hello"
    assert decode(raw_request(("s", "BYTES", [1], text)))["s"].tolist() == [b"hello"]
    typed = pb.ModelInferRequest(model_name="m", inputs=[Tensor(
        name="x", datatype="FP64", shape=[1, 2], contents=pb.InferTensorContents(fp64_contents=[1.5, 2.5]))])
    np.testing.assert_array_equal(decode(typed)["x"], [[1.5, 2.5]])


def test_named_outputs_encode_as_raw_contents_only_those_requested_in_their_order():
    result = {"a": np.array([1, 2], dtype=np.int64), "b": np.array([[0.5]], dtype=np.float32), "c": ["x"]}
    answer = encode(result, raw_request(outputs=("c", "a")), Target("m", "m", "2"), [])
    assert (answer.model_name, answer.model_version, answer.id) == ("m", "2", "req-1")
    assert [(o.name, o.datatype, list(o.shape)) for o in answer.outputs] == [("c", "BYTES", [1]), ("a", "INT64", [2])]
    assert answer.raw_output_contents[0] == b"\x01\x00\x00\x00x"
    assert np.frombuffer(answer.raw_output_contents[1], dtype="<i8").tolist() == [1, 2]
    every = encode(result, raw_request(), TARGET, [])
    assert [o.name for o in every.outputs] == ["a", "b", "c"]


def test_an_unknown_requested_output_is_the_clients_error():
    with pytest.raises(BadRequest, match="Unexpected inference output 'nope' for model 'm'; it returns: a"):
        encode({"a": np.zeros(1)}, raw_request(outputs=("nope",)), TARGET, [])


def test_a_list_of_arrays_takes_the_models_output_names_and_an_infer_response_is_kept():
    answer = encode([np.zeros(1), np.ones(1)], raw_request(), TARGET, ["scores", "labels"])
    assert [o.name for o in answer.outputs] == ["scores", "labels"]
    own = InferResponse(response_id="r", model_name="own", infer_outputs=[
        InferOutput("y", [2], "INT32", data=[3, 4]), InferOutput("z", [1], "INT32", data=np.array([1], np.int32))])
    answer = encode(own, raw_request(outputs=("y",)), TARGET, [])
    assert answer.model_name == "own" and [o.name for o in answer.outputs] == ["y"]
    assert list(answer.outputs[0].contents.int_contents) == [3, 4]  # lists as data: KServe's to_grpc
