"""Models shaped like the ones Cortex's own examples served, built at test time.

`estimator_savedmodel`: a TF1-style SavedModel as `tf.estimator` exported it:
one float input per feature, a "predict" signature with int64 `class_ids`,
float `probabilities` and string `classes`, and a "serving_default" signature
taking serialized tf.Example protos. `fixed_onnx`: an iris classifier whose
input is declared `[1, 4]` (like Cortex's gbtree.onnx) and whose first output
is the int64 label of shape [1].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# A linear classifier: class 0 when petals are short, 2 when long (iris-like)
WEIGHTS = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-2.0, 0.5, 2.0], [-2.0, 0.5, 2.0]], np.float32)
BIAS = np.array([4.0, 0.0, -5.0], np.float32)


def expected_class(row: list[float]) -> int:
    return int(np.argmax(np.asarray(row, np.float32) @ WEIGHTS + BIAS))


def estimator_savedmodel(target: Path) -> Path:
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        features = {name: v1.placeholder(tf.float32, [None], name=name) for name in FEATURES}
        serialized = v1.placeholder(tf.string, [None], name="input_example_tensor")
        parsed = tf.io.parse_example(serialized, {name: tf.io.FixedLenFeature([], tf.float32) for name in FEATURES})

        def head(columns: dict) -> dict:
            x = tf.stack([columns[name] for name in FEATURES], axis=1)
            logits = tf.matmul(x, tf.constant(WEIGHTS)) + tf.constant(BIAS)
            class_ids = tf.expand_dims(tf.argmax(logits, axis=1), 1)  # int64 [-1, 1], as estimators export it
            return {"class_ids": class_ids, "probabilities": tf.nn.softmax(logits), "logits": logits,
                    "classes": tf.strings.as_string(class_ids)}

        predict, example = head(features), head(parsed)
        build = v1.saved_model.signature_def_utils.build_signature_def
        info = v1.saved_model.utils.build_tensor_info
        signatures = {
            "predict": build({n: info(t) for n, t in features.items()}, {n: info(t) for n, t in predict.items()},
                             "tensorflow/serving/predict"),
            "serving_default": build({"inputs": info(serialized)},
                                     {"classes": info(example["classes"]), "scores": info(example["probabilities"])},
                                     "tensorflow/serving/classify"),
        }
        with v1.Session(graph=graph) as session:
            builder = v1.saved_model.Builder(str(target))
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
            builder.save()
    return target


def two_signature_savedmodel(target: Path) -> Path:
    """A TF2 SavedModel with two signatures, neither named "predict"."""
    import tensorflow as tf

    class Two(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def plus(self, x):
            return {"y": x + 1.0}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def minus(self, x):
            return {"y": x - 1.0}

    module = Two()
    tf.saved_model.save(module, str(target), signatures={"plus": module.plus, "minus": module.minus})
    return target


def fixed_onnx(target: Path) -> Path:
    from onnx import TensorProto, checker, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["float_input", "W"], ["xw"]),
         helper.make_node("Add", ["xw", "B"], ["logits"]),
         helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
        "iris",
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(model.SerializeToString())
    return target
