"""What a TFLite file holds, read without Keras: shared by the export tests of both Kerases."""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf


def interpreter(content: bytes) -> tf.lite.Interpreter:
    """The reference kernels' interpreter (no delegate), tensors allocated."""
    it = tf.lite.Interpreter(
        model_content=content,
        experimental_op_resolver_type=(
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    it.allocate_tensors()
    return it


def tensor_types(content: bytes) -> set[str]:
    """The flatbuffer's tensor types (the interpreter shows a packed INT4 tensor as int8)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    return {names[t.type] for t in model.subgraphs[0].tensors}


def assert_int8_only(content: bytes) -> None:
    """Every op between the boundary (de)quantization computes in int8 (int32: shapes)."""
    assert tensor_types(content) <= {"INT8", "INT32", "FLOAT32"}  # float: the boundary only
    it = interpreter(content)
    ops = it._get_ops_details()
    assert {op["op_name"] for op in ops} & {"CONV_2D", "DEPTHWISE_CONV_2D"}
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    for op in ops:
        if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE"):
            dtypes = {tensors[i]["dtype"] for i in op["outputs"]}
            assert dtypes <= {np.int8, np.int32}, op  # int32: shape arithmetic


def quantized_tensor(it: tf.lite.Interpreter, layer: str, shape: tuple[int, ...]) -> dict:
    """The quantization of the int8 tensor(s) of ``shape`` the converter named after ``layer``
    (Keras 3 name scopes may add ``_1``; below 8 bits an activation is several tensors: before
    and after the clip to its levels, all on one grid)."""
    named = re.compile(rf"/{re.escape(layer)}(_\d+)?/")
    found = [
        d["quantization_parameters"]
        for d in it.get_tensor_details()
        if named.search(d["name"]) and d["dtype"] == np.int8 and tuple(d["shape"]) == shape
    ]
    assert found and all(
        np.array_equal(f["scales"], found[0]["scales"])
        and np.array_equal(f["zero_points"], found[0]["zero_points"])
        for f in found
    ), found
    return found[0]
