"""The bias on TensorFlow Lite's int32 grid, simulated in inference, for Keras 3 (any back end).

TFLite's int8 kernels add the bias as int32 on the grid of input step x weight step (one per
output channel): ``round(b / (s_in * s_w))``. So, in inference, the Keras 3
``KerasQuantizationWrapper`` adds its bias rounded to that grid, as the Keras 2 wrapper does
(``keras/bias_grid.py``; the layer tables and the producer search are shared,
``common/bias_sources.py``), and the model computes what its int8 export computes.

The steps are read from the grids the quantizers describe to ``quantizer_utils.fake_quant``:
each quantizer is run once inside a lowering that records the ``[low, high]`` and bit width of
its grid (``keras.ops`` tensors of its variables, so a learned step moves the bias grid).
Where either step is unknown (a layer called outside a model, an input from an unquantized
layer, a grid of a quantizer's own, weights per channel along another axis than the bias's)
the bias stays float. Training is unchanged: the grid is applied in inference only.
"""

from __future__ import annotations

from typing import Any

from ..common import bias_sources, grid_math
from ..common.activation_scope import quantizing_activations
from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras, ops
from .lowering import lowered
from .quantizer_utils import round_half_up

KERNEL_OF = bias_sources.kernel_table(keras.layers, depthwise_attribute="kernel")
_MOVES_VALUES = bias_sources.moves_values(keras.layers)


class _GridRecorder:
    """A lowering that records the step of each grid computed (``lowering.GraphLowering``)."""

    def __init__(self) -> None:
        self.steps: list[Any] = []

    def fake_quant(self, x: Any, low: Any, high: Any, n_bits: int, activation: bool) -> Any:
        self.steps.append(grid_math.divide(high - low, float(2**n_bits - 1)))
        return x  # only the grid is wanted

    def layer_form(self, wrapper: Any, inputs: Any) -> None:
        return None


def grid_step(quantizer: Any, tensor: Any) -> Any | None:
    """The step of the grid ``quantizer`` puts ``tensor`` on in inference (one per channel for
    a per-channel grid), None when it computes no ``fake_quant`` grid."""
    recorder = _GridRecorder()
    with lowered(recorder):
        if isinstance(quantizer, BaseTrainableQuantizer):
            quantizer(tensor, False)
        else:
            quantizer(tensor)
    return recorder.steps[-1] if recorder.steps else None


class BiasGrid:
    """The bias of one wrapped layer rounded to TFLite's int32 grid, or None where unknown."""

    def __init__(self, wrapper: keras.layers.Layer, channel_axis: int | None) -> None:
        """``channel_axis``: the axis the weight's quantizer names (None: per tensor or unknown)."""
        self._wrapper = wrapper
        self._channel_axis = channel_axis
        self._source: tuple[Any, Any] | None = None  # found at the first call that has one

    def __call__(self) -> Any | None:
        if self._source is None:
            self._source = _input_source(self._wrapper)
            if self._source is None:
                return None
        return self._rounded_bias(*self._source)

    def _rounded_bias(self, quantizer: Any, shape: Any) -> Any | None:
        layer = self._wrapper.layer
        attribute, bias_axis = KERNEL_OF[type(layer)]
        weight = getattr(layer, attribute)
        weight_step = grid_step(self._wrapper.weights_quantizers[attribute], weight)
        with quantizing_activations():  # as the wrapper that makes the input computes it
            input_step = grid_step(quantizer, ops.zeros([d or 1 for d in shape]))
        if weight_step is None or input_step is None or _size(input_step) != 1:
            return None
        bias = layer.bias
        repeats = bias_sources.step_repeats(
            _size(weight_step), self._channel_axis, bias_axis, weight.shape, _size(bias)
        )
        if repeats is None:
            return None  # per channel along another axis than the bias's
        weight_step = ops.reshape(weight_step, (-1,))
        if repeats > 1:
            weight_step = ops.repeat(weight_step, repeats)
        step = ops.stop_gradient(ops.reshape(input_step, ()) * weight_step)
        step = ops.cast(step, bias.dtype)
        return round_half_up(grid_math.divide(bias, step)) * step


def _size(tensor: Any) -> int:
    size = 1
    for d in tensor.shape:
        size *= d
    return size


def bias_grid_of(wrapper: keras.layers.Layer) -> BiasGrid | None:
    """The bias grid of ``wrapper``'s inner layer; None where it has no quantized weight that
    TFLite's int32 bias follows."""
    found = bias_sources.bias_weight(wrapper.layer, wrapper.weights_quantizers, KERNEL_OF)
    return None if found is None else BiasGrid(wrapper, found[1])


def _input_source(wrapper: keras.layers.Layer) -> tuple[Any, Any] | None:
    """The quantizer whose grid the wrapper's input is on, and the shape it quantizes."""
    from .quantization_wrapper import KerasQuantizationWrapper  # the wrapper imports this module

    return bias_sources.input_source(
        wrapper._inbound_nodes, _inbound, KerasQuantizationWrapper, _MOVES_VALUES
    )


def _inbound(node: Any) -> tuple[Any, Any, Any] | None:
    """The layer that computed ``node``'s one input, its call node, and the input's shape."""
    tensors = node.input_tensors
    if len(tensors) != 1:
        return None
    history = getattr(tensors[0], "_keras_history", None)
    if history is None:
        return None
    layer = history.operation
    nodes = getattr(layer, "_inbound_nodes", [])
    return (
        layer,
        nodes[history.node_index] if history.node_index < len(nodes) else None,
        (tensors[0].shape),
    )
