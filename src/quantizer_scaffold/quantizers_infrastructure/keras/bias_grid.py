"""The bias on TensorFlow Lite's int32 grid: what an int8 kernel adds, simulated in inference.

TFLite's int8 ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``FULLY_CONNECTED`` and ``TRANSPOSE_CONV``
add the bias as an int32 tensor whose step is input step x weight step (one per output
channel): ``round(b / (s_in * s_w))``. A Keras model adds it in float, and the difference (at
most half of that fine step) moves some outputs across a rounding boundary of their grid: one
output step, on a small share of the output values (a few percent with 4-bit weights, whose
bias grid is coarser). So, in inference, ``KerasQuantizationWrapper`` adds
its bias rounded to that grid, and the finalized (and the QAT) model computes what the int8
model computes.

``s_w`` is read from the fake-quant op that computes the layer's weight, ``s_in`` from the one
that computes its input: the last activation quantizer of the wrapper that produced the input,
found in the Keras graph through layers that only move values (as the converter propagates a
grid through them). Both are read in a traced function, so they follow the quantizers'
variables (a learned step moves the bias grid with it). Where either is unknown (a layer
called outside a model, an input from an unquantized layer, a grid of a quantizer's own,
weights per channel along another axis than the bias's) the bias stays float, as before.
Training is unchanged: the grid is applied with ``training=False`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .compat import keras, tf  # first: the clear error when the Keras runtime is missing

# isort: split
from ..common.activation_scope import quantizing_activations
from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from ..tflite_grids import grid_step
from .quantizer_utils import round_half_up

# inner layer class (exact) -> the weight the kernel op multiplies the input by, and the axis
# of that weight (from the end) whose channels the bias's follow: a per-channel weight grid
# gives the bias a step per channel only along it
KERNEL_OF = {
    keras.layers.Dense: ("kernel", -1),
    keras.layers.Conv1D: ("kernel", -1),
    keras.layers.Conv2D: ("kernel", -1),
    keras.layers.Conv2DTranspose: ("kernel", -2),  # [h, w, out, in]
    keras.layers.DepthwiseConv1D: ("depthwise_kernel", -2),  # [w, C, M]: C*M outputs
    keras.layers.DepthwiseConv2D: ("depthwise_kernel", -2),
}

# layers whose output TFLite computes with their input's scale and zero point
_MOVES_VALUES = (
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.Identity,
    keras.layers.Dropout,
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
)


def _call(quantizer: Any, tensor: tf.Tensor) -> tf.Tensor:
    """A quantizer's inference output (a trainable one with ``training=False``)."""
    if isinstance(quantizer, BaseTrainableQuantizer):
        return quantizer(tensor, False)
    return quantizer(tensor)


class BiasGrid:
    """The bias of one wrapped layer rounded to TFLite's int32 grid, or None where unknown."""

    def __init__(self, wrapper: keras.layers.Layer, channel_axis: int | None) -> None:
        """``channel_axis``: the axis the weight's quantizer names (None: per tensor or unknown)."""
        self._wrapper = wrapper
        self._channel_axis = channel_axis
        self._function = None  # the traced computation, made at the first call that has one

    def __call__(self) -> tf.Tensor | None:
        if self._function is None:
            source = _input_source(self._wrapper)
            if source is None:
                return None
            self._function = tf.function(lambda: self._rounded_bias(*source), autograph=False)
        return self._function()

    def _rounded_bias(self, quantizer: Any, shape: tf.TensorShape) -> tf.Tensor:
        wrapper = self._wrapper
        layer = wrapper.layer
        attribute, bias_axis = KERNEL_OF[type(layer)]
        weight = getattr(layer, attribute)
        weight_step = grid_step(_call(wrapper.weights_quantizers[attribute], weight))
        with quantizing_activations():  # as the wrapper that makes the input computes it
            input_step = grid_step(_call(quantizer, tf.zeros([d or 1 for d in shape])))
        if weight_step is None or input_step is None or input_step.shape.num_elements() != 1:
            return tf.identity(layer.bias)
        steps = weight_step.shape.num_elements()
        if steps != 1 and (
            self._channel_axis is None
            or self._channel_axis % weight.shape.rank != bias_axis % weight.shape.rank
            or steps != layer.bias.shape.num_elements()
        ):
            return tf.identity(layer.bias)  # per channel along another axis than the bias's
        step = tf.stop_gradient(tf.reshape(input_step, []) * tf.reshape(weight_step, [-1]))
        return round_half_up(layer.bias / step) * step


def bias_grid_weight(
    layer: keras.layers.Layer, weights_quantizers: Mapping[str, Any]
) -> str | None:
    """The quantized weight whose grid TFLite's int32 bias of ``layer`` is on, None if none."""
    attribute, _ = KERNEL_OF.get(type(layer), (None, None))
    if attribute in weights_quantizers and getattr(layer, "use_bias", False):
        return attribute
    return None


def _input_source(wrapper: keras.layers.Layer) -> tuple[Any, tf.TensorShape] | None:
    """The quantizer whose grid the wrapper's input is on, and the shape it quantizes.

    Found in every call of the wrapper in a Keras model; None unless they all agree.
    """
    found = {}
    for node in wrapper.inbound_nodes:
        source = _producer(node)
        if source is None:
            return None
        found[id(source[0])] = source
    return next(iter(found.values())) if len(found) == 1 else None


def _producer(node: Any) -> tuple[Any, tf.TensorShape] | None:
    """The last activation quantizer of the wrapper whose output reaches ``node``'s one input
    through layers that only move values, with that output's shape."""
    from .quantization_wrapper import KerasQuantizationWrapper  # the wrapper imports this module

    while True:
        inbound = list(node.iterate_inbound())
        if len(inbound) != 1 or inbound[0][0] is None:
            return None
        layer, node_index, _, tensor = inbound[0]
        if isinstance(layer, KerasQuantizationWrapper):
            if not layer.activation_quantizers:
                return None
            return layer.activation_quantizers[-1], tensor.shape
        if type(layer) not in _MOVES_VALUES:
            return None
        node = layer.inbound_nodes[node_index]
