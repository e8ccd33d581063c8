"""Layer calls in the form TensorFlow Lite's converter maps onto its int8 kernels, per channel.

The converter reads a weight's grid from the fake-quant op that feeds the kernel op. A
per-channel grid survives only when the fake-quant op feeds a 2-D convolution (or a depthwise
one) directly: the transpose the converter puts in front of ``FULLY_CONNECTED`` and the
``expand_dims`` of a 1-D convolution fail (``'tfl.transpose' op has mismatched quantized
axes``, or a per-axis type mismatch). So a quantization wrapper whose inner layer is a
``Dense``, ``Conv1D`` or ``DepthwiseConv1D`` with a weight quantized per channel computes that
layer with the 2-D op on a 4-D view of its weights (``[in, out] -> [1, 1, in, out]``; a
Dense's input vectors as one row of pixels), quantized in that view: the values of the
layer's own ``call``, and a ``CONV_2D`` / ``DEPTHWISE_CONV_2D`` with per-channel int8 weights
after conversion (Keras 2: in inference; Keras 3: while ``export_tflite`` traces the model).
A ``Dense`` quantized per tensor has a form too (``per_tensor_forms``): its bias added before
a sequence takes its shape again.

The view only prepends unit axes, so a quantizer whose ``channel_axis`` counts from the end
(``-1``, as ``qat_init`` sets it) quantizes the same channels in both layouts. The forms read
the attributes both Kerases' layers share (``use_bias``, ``strides``, ...) and compute in
TensorFlow: each back end builds its table from its own layer classes (``layer_forms``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from .common.bias_sources import per_channel_axis

# a layer's call in its TFLite form: (layer, inputs, {weight attribute: quantized 4-D view})
LayerForm = Callable[[Any, tf.Tensor, dict[str, tf.Tensor]], tf.Tensor]


@dataclass(frozen=True)
class FormSpec:
    """The TFLite form of one layer class: its weight, its call, and when it applies."""

    attribute: str
    form: LayerForm
    applies: Callable[[Any], bool]  # to this layer's configuration
    input_ranks: Callable[[int], bool]  # the input ranks the form is written for
    in_4d: bool = True  # the form takes its weight in the 4-D view (else in its own shape)


def as_4d(weight: Any) -> tf.Tensor:
    """``weight`` with unit axes prepended up to rank 4 (the layout of TFLite's 2-D kernels)."""
    weight = tf.convert_to_tensor(weight)
    return tf.reshape(weight, [1] * (4 - weight.shape.rank) + weight.shape.as_list())


def _bias_and_activation(layer: Any, outputs: tf.Tensor) -> tf.Tensor:
    """Bias then activation right after the op, where the converter fuses them into it."""
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, tf.convert_to_tensor(layer.bias))
    return layer.activation(outputs) if layer.activation is not None else outputs


def _dense(layer: Any, inputs: tf.Tensor, weights: dict[str, tf.Tensor]) -> tf.Tensor:
    """``Dense`` as a 1x1 convolution of one image whose one row holds every input vector.

    One row of N pixels rather than N one-pixel images: the same op for TFLite, and in
    TensorFlow about as fast as the layer's own matrix product (N images: 1.15x slower in
    benchmarks/inference.py).
    """
    kernel = weights["kernel"]
    pixels = tf.reshape(inputs, [1, 1, -1, kernel.shape[-2]])
    outputs = _bias_and_activation(layer, tf.nn.conv2d(pixels, kernel, 1, "VALID"))
    return _in_input_shape(outputs, inputs, layer.units)


def _dense_rows(layer: Any, inputs: tf.Tensor, weights: dict[str, tf.Tensor]) -> tf.Tensor:
    """``Dense`` (weights per tensor, in the kernel's own shape) as one matrix product of all
    input vectors, the bias added before they take the input's shape again.

    Keras adds the bias of a Dense on sequences after that reshape, where the converter cannot
    fuse it into ``FULLY_CONNECTED``, whose output then stays float (a zero bias is dropped).
    """
    kernel = weights["kernel"]
    rows = tf.reshape(inputs, [-1, kernel.shape[0]])
    outputs = _bias_and_activation(layer, tf.matmul(rows, kernel))
    return _in_input_shape(outputs, inputs, layer.units)


def _in_input_shape(outputs: tf.Tensor, inputs: tf.Tensor, units: int) -> tf.Tensor:
    """A Dense form's outputs in the input's shape, ``units`` values per input vector."""
    inner = inputs.shape[1:-1]
    if inner.is_fully_defined():  # a static shape: no shape arithmetic in the TFLite graph
        shape = [-1, *inner.as_list(), units]
    else:
        shape = tf.concat([tf.shape(inputs)[:-1], [units]], axis=0)
    outputs = tf.reshape(outputs, shape)
    outputs.set_shape(inputs.shape[:-1].concatenate([units]))
    return outputs


def _padded_rows(layer: Any, inputs: tf.Tensor) -> tuple[tf.Tensor, str]:
    """``[batch, steps, channels]`` as one-row images, causal padding applied; the padding."""
    padding = layer.padding
    if padding == "causal":
        left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
        inputs = tf.pad(inputs, [[0, 0], [left, 0], [0, 0]])
        padding = "valid"
    return tf.expand_dims(inputs, 1), padding.upper()


def _one_row_form(convolve: Callable[..., tf.Tensor], attribute: str) -> LayerForm:
    """A 1-D layer as ``convolve`` (a 2-D op) on one-row images: ``convolve(rows, weight,
    stride, padding, dilation)``."""

    def form(layer: Any, inputs: tf.Tensor, weights: dict[str, tf.Tensor]) -> tf.Tensor:
        rows, padding = _padded_rows(layer, inputs)
        outputs = convolve(
            rows, weights[attribute], layer.strides[0], padding, layer.dilation_rate[0]
        )
        return tf.squeeze(_bias_and_activation(layer, outputs), [1])

    return form


def _conv2d(rows: tf.Tensor, kernel: tf.Tensor, stride: int, padding: str, dilation: int):
    return tf.nn.conv2d(rows, kernel, strides=[1, stride], padding=padding, dilations=[1, dilation])


def _depthwise_conv2d(rows: tf.Tensor, kernel: tf.Tensor, stride: int, padding: str, dilation: int):
    return tf.nn.depthwise_conv2d(
        rows, kernel, strides=[1, 1, stride, 1], padding=padding, dilations=[1, dilation]
    )


def _is_channels_last_1d(layer: Any) -> bool:
    return layer.data_format == "channels_last" and getattr(layer, "groups", 1) == 1


def layer_forms(layers: Any, depthwise_attribute: str) -> dict[type, FormSpec]:
    """The forms of a Keras' ``layers`` module, by exact class (a subclass may change what its
    weights mean); ``depthwise_attribute``: where its DepthwiseConv1D keeps its kernel."""
    return {
        layers.Dense: FormSpec("kernel", _dense, lambda layer: True, lambda rank: rank >= 2),
        layers.Conv1D: FormSpec(
            "kernel", _one_row_form(_conv2d, "kernel"), _is_channels_last_1d, lambda r: r == 3
        ),
        layers.DepthwiseConv1D: FormSpec(
            depthwise_attribute,
            _one_row_form(_depthwise_conv2d, depthwise_attribute),
            _is_channels_last_1d,
            lambda rank: rank == 3,
        ),
    }


def per_tensor_forms(layers: Any) -> dict[type, FormSpec]:
    """The forms of layers whose weight is quantized per tensor: a ``Dense`` (the 2-D ops read
    the others' own calls well)."""
    return {
        layers.Dense: FormSpec(
            "kernel", _dense_rows, lambda layer: True, lambda rank: rank >= 2, in_4d=False
        )
    }


def form_of(layer: Any, forms: dict[type, FormSpec]) -> FormSpec | None:
    """The TFLite form of ``layer``'s call in ``forms``, if it has one."""
    spec = forms.get(type(layer))
    return spec if spec is not None and spec.applies(layer) else None


def takes_form_inputs(spec: FormSpec, inputs: Any) -> bool:
    """Whether ``inputs`` are the dense float32 tensors of the rank the form is written for."""
    if not isinstance(inputs, tf.Tensor) or inputs.dtype != tf.float32:
        return False
    rank = inputs.shape.rank
    return rank is not None and spec.input_ranks(rank) and inputs.shape[-1] is not None


def form_for_weights(
    layer: Any,
    weights_quantizers: dict[str, Any],
    forms: dict[type, FormSpec],
    per_tensor: dict[type, FormSpec] | None = None,
) -> FormSpec | None:
    """The form to compute ``layer`` in, for its one quantized weight: per channel, its axis
    counted from the end (so the 4-D view quantizes the same channels), one of ``forms``; per
    tensor, one of ``per_tensor``."""
    spec = form_of(layer, forms)
    if spec is None or set(weights_quantizers) != {spec.attribute}:
        return None
    axis = per_channel_axis(weights_quantizers[spec.attribute])
    if axis is None:
        return form_of(layer, per_tensor) if per_tensor else None
    return spec if axis < 0 else None
