"""Layer calls in the form TensorFlow Lite's converter maps onto its int8 kernels, per channel.

The converter reads a weight's grid from the fake-quant op that feeds the kernel op. A
per-channel grid survives only when the fake-quant op feeds a 2-D convolution (or a depthwise
one) directly: the transpose the converter puts in front of ``FULLY_CONNECTED`` and the
``expand_dims`` of a 1-D convolution fail (``'tfl.transpose' op has mismatched quantized
axes``, or a per-axis type mismatch). So, in inference, a ``KerasQuantizationWrapper`` whose
inner layer is a ``Dense``, ``Conv1D`` or ``DepthwiseConv1D`` with a weight quantized per
channel computes that layer with the 2-D op on a 4-D view of its weights (``[in, out] ->
[1, 1, in, out]``; a Dense's input vectors as one row of pixels), quantized in that view: the
values of the layer's own ``call``, and a ``CONV_2D`` / ``DEPTHWISE_CONV_2D`` with per-channel
int8 weights after conversion.

The view only prepends unit axes, so a quantizer whose ``channel_axis`` counts from the end
(``-1``, as ``qat_init`` sets it) quantizes the same channels in both layouts.

A ``Dense`` quantized per tensor keeps ``FULLY_CONNECTED`` and its weight's own shape, but
adds its bias right after the matrix product, before the output takes the input's shape
(Keras adds it after, on sequences, where the converter cannot fuse it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compat import keras, tf

# a layer's call in its TFLite form: (layer, inputs, {weight attribute: quantized 4-D view})
LayerForm = Callable[[keras.layers.Layer, tf.Tensor, dict[str, tf.Tensor]], tf.Tensor]


def as_4d(weight: Any) -> tf.Tensor:
    """``weight`` with unit axes prepended up to rank 4 (the layout of TFLite's 2-D kernels)."""
    weight = tf.convert_to_tensor(weight)
    return tf.reshape(weight, [1] * (4 - weight.shape.rank) + weight.shape.as_list())


def _bias_and_activation(layer: keras.layers.Layer, outputs: tf.Tensor) -> tf.Tensor:
    """Bias then activation right after the op, where the converter fuses them into it."""
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, layer.bias)
    return layer.activation(outputs) if layer.activation is not None else outputs


def _dense(
    layer: keras.layers.Layer, inputs: tf.Tensor, weights: dict[str, tf.Tensor]
) -> tf.Tensor:
    """``Dense`` as a 1x1 convolution of one image whose one row holds every input vector.

    One row of N pixels rather than N one-pixel images: the same op for TFLite, and in
    TensorFlow about as fast as the layer's own matrix product (N images: 1.15x slower in
    benchmarks/inference.py).
    """
    kernel = weights["kernel"]
    pixels = tf.reshape(inputs, [1, 1, -1, kernel.shape[-2]])
    outputs = _bias_and_activation(layer, tf.nn.conv2d(pixels, kernel, 1, "VALID"))
    return _in_input_shape(outputs, inputs, layer.units)


def _dense_rows(
    layer: keras.layers.Layer, inputs: tf.Tensor, weights: dict[str, tf.Tensor]
) -> tf.Tensor:
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


def _padded_rows(layer: keras.layers.Layer, inputs: tf.Tensor) -> tuple[tf.Tensor, str]:
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

    def form(layer: keras.layers.Layer, inputs: tf.Tensor, weights: dict[str, tf.Tensor]):
        rows, padding = _padded_rows(layer, inputs)
        outputs = convolve(
            rows, weights[attribute], layer.strides[0], padding, layer.dilation_rate[0]
        )
        return tf.squeeze(_bias_and_activation(layer, outputs), [1])

    return form


_conv1d = _one_row_form(
    lambda rows, kernel, stride, padding, dilation: tf.nn.conv2d(
        rows, kernel, strides=[1, stride], padding=padding, dilations=[1, dilation]
    ),
    "kernel",
)
_depthwise_conv1d = _one_row_form(
    lambda rows, kernel, stride, padding, dilation: tf.nn.depthwise_conv2d(
        rows, kernel, strides=[1, 1, stride, 1], padding=padding, dilations=[1, dilation]
    ),
    "depthwise_kernel",
)


def _is_channels_last_1d(layer: keras.layers.Layer) -> bool:
    return layer.data_format == "channels_last" and getattr(layer, "groups", 1) == 1


# exact class (a subclass may change what its weights mean) -> (its weight, form, applies)
Forms = dict[type, tuple[str, LayerForm, Callable[[keras.layers.Layer], bool]]]
_FORMS: Forms = {
    keras.layers.Dense: ("kernel", _dense, lambda layer: True),
    keras.layers.Conv1D: ("kernel", _conv1d, _is_channels_last_1d),
    keras.layers.DepthwiseConv1D: ("depthwise_kernel", _depthwise_conv1d, _is_channels_last_1d),
}
# with weights quantized per tensor (the 2-D ops read the layer's own call well otherwise)
_PER_TENSOR_FORMS: Forms = {keras.layers.Dense: ("kernel", _dense_rows, lambda layer: True)}


def tflite_form(
    layer: keras.layers.Layer, per_channel: bool = True
) -> tuple[str, LayerForm] | None:
    """The weight attribute and the TFLite form of ``layer``'s call, if it has one."""
    forms = _FORMS if per_channel else _PER_TENSOR_FORMS
    attribute, form, applies = forms.get(type(layer), (None, None, None))
    if form is None or not applies(layer):
        return None
    return attribute, form


def takes_form_inputs(layer: keras.layers.Layer, inputs: Any) -> bool:
    """Whether ``inputs`` are the dense float32 tensors of the rank the form is written for."""
    if not isinstance(inputs, tf.Tensor) or inputs.dtype != tf.float32:
        return False
    rank = inputs.shape.rank
    if isinstance(layer, keras.layers.Dense):
        return rank is not None and rank >= 2 and inputs.shape[-1] is not None
    return rank == 3
