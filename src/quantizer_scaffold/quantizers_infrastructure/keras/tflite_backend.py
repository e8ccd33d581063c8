"""The Keras 2 (tf_keras) back end of ``export_tflite``: what int8 can hold, and how to convert.

What TensorFlow Lite's converter needs to make an exact int8 model (checked with
tensorflow 2.21; tests/deploy/test_tflite_export.py holds the evidence):

- every grid reaches it as a fake-quant op (``FakeQuantWithMinMaxVars`` or its per-channel
  form), which gives the tensor's scale and zero point; any other quantizer arithmetic is
  plain float ops, whose levels no int8 scale reproduces;
- weights: at most 8 bits (below 8 the converter packs them into int4 tensors unless an 8-bit
  fake-quant of the same step follows, as quantizer_utils writes them), zero point 0 (its
  int8 kernels take symmetric weights only), per channel along the output channels, the
  fake-quant op feeding a 2-D (depthwise) convolution directly (the TFLite forms of
  ``quantization_wrapper`` see to Dense and the 1-D layers); per-channel transposed
  convolutions are refused by the converter;
- activations: one grid per tensor, computed by an 8-bit fake-quant op (an n-bit op gives the
  tensor an n-bit type the int8 kernels refuse; quantizer_utils writes an n-bit activation
  grid as 8-bit ops of its step around the clip to its levels, which stays int8);
- every tensor between ops quantized, the model inputs too (``qat_init`` quantizes them);
- ops it has int8 kernels for: not ``CONV_3D`` / ``CONV_3D_TRANSPOSE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras, tf
from .fake_quant_ops import FAKE_QUANT_OPS, source_op
from .quantization_wrapper import KerasQuantizationWrapper, per_channel_axis
from .quantizer_utils import quantizing_activations
from .tflite_forms import tflite_form

_SEPARABLE = (
    "TFLite computes the depthwise result inside it as a tensor of its own, which this wrapper "
    "does not quantize; qat_init splits a separable convolution into its depthwise and "
    "pointwise halves, each wrapped (wrap a DepthwiseConv and a Conv with kernel size 1)"
)
# inner layer class -> why TFLite cannot run it in int8, whatever its quantizers
_NO_INT8_KERNEL = {
    keras.layers.Conv3D: "TFLite's CONV_3D kernel takes float only",
    keras.layers.Conv3DTranspose: "TFLite's CONV_3D_TRANSPOSE kernel takes float only",
    keras.layers.Conv1DTranspose: (
        "TFLite's converter leaves its TRANSPOSE_CONV and bias ADD in float; use a "
        "Conv2DTranspose on [batch, 1, steps, channels] inputs"
    ),
    keras.layers.SeparableConv1D: _SEPARABLE,
    keras.layers.SeparableConv2D: _SEPARABLE,
}
_TRANSPOSED = (keras.layers.Conv2DTranspose,)


@dataclass(frozen=True)
class FakeQuantGrid:
    """The grid a quantizer hands the converter: its fake-quant op's attributes and range."""

    num_bits: int  # of the int8 tensor's grid (the outer fake-quant op)
    narrow_range: bool
    low: np.ndarray  # one value per channel (per tensor: one)
    high: np.ndarray
    per_channel: bool

    def int8_zero_points(self) -> np.ndarray:
        """The zero points the converter gives the int8 tensor (signed storage)."""
        qmin = -(2 ** (self.num_bits - 1)) + int(self.narrow_range)
        qmax = 2 ** (self.num_bits - 1) - 1
        scale = (self.high.astype(np.float64) - self.low) / (qmax - qmin)
        return np.clip(np.round(qmin - self.low / scale), qmin, qmax).astype(int)


def fake_quant_grid(quantizer: Any, shape: Any, activation: bool = False) -> FakeQuantGrid | None:
    """The fake-quant op that computes ``quantizer``'s output on a tensor of ``shape``.

    ``activation``: traced as the wrapper applies an output quantizer. None when the output
    comes from other ops (a grid of the quantizer's own).
    """
    shape = [d for d in tf.TensorShape(shape).as_list()]

    def quantize(x: tf.Tensor) -> tf.Tensor:
        if not activation:
            return quantizer(x)
        with quantizing_activations():
            return quantizer(x)

    wrapped = tf.compat.v1.wrap_function(quantize, [tf.TensorSpec(shape, tf.float32)])
    op = source_op(wrapped.outputs[0])
    if op.type not in FAKE_QUANT_OPS:
        return None
    low_high = wrapped.prune(feeds=wrapped.inputs, fetches=[op.inputs[1], op.inputs[2]])
    low, high = (v.numpy().reshape(-1) for v in low_high(tf.zeros([d or 1 for d in shape])))
    return FakeQuantGrid(
        op.get_attr("num_bits"),
        op.get_attr("narrow_range"),
        low,
        high,
        op.type == "FakeQuantWithMinMaxVarsPerChannel",
    )


class Keras2TFLiteBackend:
    """``export_tflite`` for tf_keras models (``qat_finalize``'s output)."""

    def int8_problems(self, model: keras.Model) -> list[str]:
        wrappers = [layer for layer in model.layers if isinstance(layer, KerasQuantizationWrapper)]
        if not wrappers:
            return [f"{model.name!r} has no quantized layer: export the model qat_finalize returns"]
        problems = _unquantized_inputs(model)
        for wrapper in wrappers:
            problems += _wrapper_problems(wrapper)
        return problems

    def converter(self, model: keras.Model) -> tf.lite.TFLiteConverter:
        return tf.lite.TFLiteConverter.from_keras_model(model)

    def predict(self, model: keras.Model, batch: Any) -> dict[str, np.ndarray]:
        outputs = model(batch, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        names = model.output_names
        return {name: np.asarray(output) for name, output in zip(names, outputs, strict=True)}

    def input_names(self, model: keras.Model) -> list[str]:
        return list(model.input_names)

    def layer_names(self, model: keras.Model) -> list[str]:
        return [layer.name for layer in model.layers]


BACKEND = Keras2TFLiteBackend()


def _unquantized_inputs(model: keras.Model) -> list[str]:
    """Float inputs read by anything but an input quantizer (qat_init's wrapped Identity)."""
    problems = []
    for name, tensor in zip(model.input_names, model.inputs, strict=True):
        readers = _readers(model, name)
        if tensor.dtype.is_floating and not all(_is_input_quantizer(r) for r in readers):
            problems.append(
                f"input {name!r} is not quantized (build the QAT model with qat_init's "
                "quantize_inputs=True, the default)"
            )
    return problems


def _readers(model: keras.Model, input_name: str) -> list[keras.layers.Layer]:
    """The layers that take the model input ``input_name``, read from the model's config."""
    if isinstance(model, keras.Sequential):
        return model.layers[:1]
    config = model.get_config()
    return [
        model.get_layer(layer["name"])
        for layer in config["layers"]
        if input_name in _referenced_layers(layer.get("inbound_nodes", []))
    ]


def _referenced_layers(nodes: Any) -> set[str]:
    """Layer names in a functional config's ``[layer, node, tensor, kwargs]`` references."""
    if isinstance(nodes, list):
        if len(nodes) in (3, 4) and isinstance(nodes[0], str):
            return {nodes[0]}
        return set().union(*(_referenced_layers(part) for part in nodes))
    return set()


def _is_input_quantizer(layer: keras.layers.Layer) -> bool:
    return (
        isinstance(layer, KerasQuantizationWrapper)
        and isinstance(layer.layer, keras.layers.Identity)
        and bool(layer.activation_quantizers)
    )


def _wrapper_problems(wrapper: KerasQuantizationWrapper) -> list[str]:
    """Why one wrapped layer cannot become exact int8, one line each."""
    inner = wrapper.layer
    where = f"{wrapper.name} ({type(inner).__name__})"
    quantizers = [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]
    if any(isinstance(q, BaseTrainableQuantizer) for q in quantizers):
        return [f"{where} holds trainable quantizers: export the model qat_finalize returns"]
    reason = _NO_INT8_KERNEL.get(type(inner))
    if reason is not None:
        return [f"{where}: {reason}"]
    problems = []
    for attribute, quantizer in wrapper.weights_quantizers.items():
        weight = getattr(inner, attribute)
        problem = _weights_problem(quantizer, weight.shape)
        axis = per_channel_axis(quantizer)
        if problem is None and axis is not None and isinstance(inner, _TRANSPOSED):
            problem = (
                "per-channel weights: TFLite's converter cannot take per-channel transposed-"
                "convolution weights from a fake-quant op; quantize this layer per tensor "
                "(qat_init(..., per_channel=False)), as tfmot does"
            )
        if problem is None and axis is not None and axis >= 0 and tflite_form(inner):
            problem = (
                f"channel_axis {axis} counts from the start; counted from the end "
                f"({axis - len(weight.shape)}) the layer runs in a form TFLite keeps per channel"
            )
        if problem is not None:
            problems.append(f"{where} {attribute}: {problem}")
    if not wrapper.activation_quantizers:
        problems.append(
            f"{where}: its output is not quantized (no activation quantizer), so what "
            "reads it would compute in float"
        )
    output_shape = inner.compute_output_shape(wrapper._build_input_shape)
    for quantizer in wrapper.activation_quantizers:
        problem = _activation_problem(quantizer, output_shape)
        if problem is not None:
            problems.append(f"{where} output: {problem}")
    return problems


def _custom_grid(quantizer: Any) -> str:
    return (
        f"{type(quantizer).__name__} does not quantize through a fake-quant op, so no int8 "
        "scale and zero point reproduce its levels"
    )


def _weights_problem(quantizer: Any, shape: Any) -> str | None:
    grid = fake_quant_grid(quantizer, shape)
    if grid is None:
        return _custom_grid(quantizer)
    if grid.num_bits > 8:
        return f"{grid.num_bits}-bit weights; int8 holds at most 8 bits"
    zero_points = grid.int8_zero_points()
    if np.any(zero_points != 0):
        shown = sorted(set(zero_points.tolist()))[:4]
        return (
            f"zero point(s) {shown} (an asymmetric grid); TFLite's int8 kernels take weights with "
            "zero point 0: quantize weights symmetrically (symmetric or power-of-two)"
        )
    return None


def _activation_problem(quantizer: Any, shape: Any) -> str | None:
    grid = fake_quant_grid(quantizer, shape, activation=True)
    if grid is None:
        return _custom_grid(quantizer)
    if grid.per_channel:
        return "quantized per channel; TFLite quantizes activations per tensor"
    if grid.num_bits > 8:
        return f"{grid.num_bits}-bit activations; int8 holds at most 8 bits"
    if grid.num_bits < 8:
        return (
            f"a {grid.num_bits}-bit fake-quant op computes it, and TFLite's converter gives such "
            f"a tensor a {grid.num_bits}-bit type its int8 kernels do not take: quantize with "
            "quantizer_utils (symmetric_quantize, uniform_quantize), which writes grids below "
            "8 bits as 8-bit ops of their step"
        )
    return None
