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

from typing import Any

from .compat import keras, tf  # first: the clear error when the Keras runtime is missing

# isort: split
from ..common import bias_sources, grid_math
from ..common.activation_scope import quantizing_activations
from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from ..tflite_grids import grid_step
from .quantizer_utils import round_half_up

KERNEL_OF = bias_sources.kernel_table(keras.layers, depthwise_attribute="depthwise_kernel")
_MOVES_VALUES = bias_sources.moves_values(keras.layers)


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
        repeats = bias_sources.step_repeats(
            weight_step.shape.num_elements(),
            self._channel_axis,
            bias_axis,
            weight.shape.as_list(),
            layer.bias.shape.num_elements(),
        )
        if repeats is None:
            return tf.identity(layer.bias)  # per channel along another axis than the bias's
        weight_step = tf.repeat(tf.reshape(weight_step, [-1]), repeats)
        step = tf.stop_gradient(tf.reshape(input_step, []) * weight_step)
        return round_half_up(grid_math.divide(layer.bias, step)) * step


def bias_grid_of(wrapper: keras.layers.Layer) -> BiasGrid | None:
    """The bias grid of ``wrapper``'s inner layer; None where it has no quantized weight that
    TFLite's int32 bias follows."""
    found = bias_sources.bias_weight(wrapper.layer, wrapper.weights_quantizers, KERNEL_OF)
    return None if found is None else BiasGrid(wrapper, found[1])


def _input_source(wrapper: keras.layers.Layer) -> tuple[Any, tf.TensorShape] | None:
    """The quantizer whose grid the wrapper's input is on, and the shape it quantizes."""
    from .quantization_wrapper import KerasQuantizationWrapper  # the wrapper imports this module

    return bias_sources.input_source(
        wrapper.inbound_nodes, _inbound, KerasQuantizationWrapper, _MOVES_VALUES
    )


def _inbound(node: Any) -> tuple[keras.layers.Layer, Any, tf.TensorShape] | None:
    """The layer that computed ``node``'s one input, its call node, and the input's shape."""
    inbound = list(node.iterate_inbound())
    if len(inbound) != 1 or inbound[0][0] is None:
        return None
    layer, node_index, _, tensor = inbound[0]
    return layer, layer.inbound_nodes[node_index], tensor.shape
