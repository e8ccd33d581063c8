"""What a TFLite file holds and how a finalized model's export is checked: shared by the export
tests of both Kerases (a finalized model's quantizers are read through their ``grid()``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import tensorflow as tf

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import qat_finalize, qat_init

SAMPLES = 48  # random inputs of the export tests


def random_inputs(model: Any, samples: int = SAMPLES) -> list[np.ndarray]:
    """Standard normal float32 inputs for each of ``model``'s inputs."""
    rng = np.random.default_rng(1)
    return [
        rng.normal(size=(samples, *tensor.shape[1:])).astype(np.float32) for tensor in model.inputs
    ]


def batches_of(arrays: list[np.ndarray], size: int = 16) -> Any:
    """A representative dataset of ``arrays``: a callable returning their batches."""
    return lambda: ([a[i : i + size] for a in arrays] for i in range(0, len(arrays[0]), size))


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
    assert {op["op_name"] for op in ops} & {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
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


def output_step(finalized: Any, name: str) -> float:
    """The step of the grid the wrapper ``name`` puts its output on."""
    return finalized.get_layer(name).activation_quantizers[0].grid().scale[0]


def assert_the_quantizers_grids(finalized: Any, content: bytes) -> None:
    """The conv2d kernel's scales and the conv2d output's scale and zero point in the file are
    those of the quantizers' ``grid()``."""
    it = interpreter(content)
    conv = finalized.get_layer("quant_conv2d")
    weights = conv.weights_quantizers["kernel"].grid()
    kernel = quantized_tensor(it, "quant_conv2d", (4, 3, 3, 3))
    expected = np.asarray(weights.scale) * np.ones(len(kernel["scales"]))
    np.testing.assert_allclose(kernel["scales"], expected, rtol=1e-5)
    assert not np.any(kernel["zero_points"])
    activation = conv.activation_quantizers[0].grid()
    output = quantized_tensor(it, "quant_conv2d", (1, 4, 4, 4))
    np.testing.assert_allclose(output["scales"], activation.scale, rtol=1e-5)
    if activation.quant_max - activation.quant_min < 255:  # below 8 bits: the levels / step
        assert list(output["zero_points"]) == [0]
    else:  # the int8 tensor's codes are the grid's shifted to start at -128
        zero_point = activation.zero_point[0] - activation.quant_min - 128
        assert list(output["zero_points"]) == [zero_point]


def assert_within_one_step_independently(
    finalized: Any, input_names: list[str], inputs: list[np.ndarray], content: bytes
) -> None:
    """The file run as on a device (its signature, the default delegate) is within one output
    step of the finalized model on ``inputs``."""
    runner = tf.lite.Interpreter(model_content=content).get_signature_runner()
    got = runner(**dict(zip(input_names, inputs, strict=True)))
    expected = finalized(inputs, training=False)
    for name, value in zip(finalized.output_names, expected, strict=True):
        steps = np.abs(got[name] - np.asarray(value)) / output_step(finalized, name)
        assert steps.max() <= 1.0 + 1e-4, name


def assert_all_kinds_export_exactly(
    model: Any, options: dict[str, Any], path: Any, input_names: Any
) -> tuple[Any, bytes]:
    """``model`` (every layer kind, a transposed conv if ``transposed`` is in ``options``)
    through ``qat_init`` (with the other ``options``) and ``qat_finalize``, exported to
    ``path``: int8 only, within one output step of the Keras model, the quantizers' grids in
    the file. ``input_names(finalized)`` names the inputs of the file's signature. Returns the
    finalized model and the file for the caller's own checks."""
    transposed = options.pop("transposed", False)
    inputs = random_inputs(model)
    finalized = qat_finalize(qat_init(model, batches_of(inputs), **options))
    report = qi.export_tflite(finalized, path, batches_of(inputs))
    content = path.read_bytes()
    assert report.mode == "int8" and not report.float_ops and report.size_bytes == len(content)
    assert_int8_only(content)
    agreement = report.agreement
    assert agreement.samples == SAMPLES
    assert agreement.max_steps is not None and agreement.max_steps <= 1.0 + 1e-4
    # the bias is on TFLite's int32 grid in both: what may differ is TFLite's TRANSPOSE_CONV,
    # which rounds values within about 0.003 of a rounding boundary the other way
    assert agreement.identical_values > (0.99 if transposed else 0.9999)
    assert_the_quantizers_grids(finalized, content)
    assert_within_one_step_independently(finalized, input_names(finalized), inputs, content)
    return finalized, content
